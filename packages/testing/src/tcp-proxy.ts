import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { Transform } from 'node:stream'

/*
 * A TCP proxy on loopback for fault tests: point an app at the proxy instead of
 * the real server, then cut() the link as if the server went down and restore()
 * it. Nothing in between is simulated: the app talks its real protocol to the
 * real server through the proxy, and sees real socket errors when it is cut.
 */

export interface TcpProxy {
  /** The loopback port the proxy listens on. */
  port: number
  /** Whether the link is cut now. */
  readonly isCut: boolean
  /** Connections opened through the proxy since it started (refused ones included). */
  readonly accepted: number
  /**
   * Resets every open connection (both sides) and from now on resets each new
   * one as soon as it arrives: clients see ECONNRESET at once, as with a server
   * that died, rather than waiting out a connect timeout.
   */
  cut(): void
  /**
   * Keeps every connection open but forwards nothing any more, either way, and does the
   * same to each new one (accepted, never answered): a link gone silent without a reset,
   * as a partition or a frozen server leaves it. restore() lets new connections through;
   * the silent ones stay silent, as dead links do, until a side gives up on them.
   */
  stall(): void
  /** New connections reach the target again. */
  restore(): void
  /**
   * Arms the proxy once: on the first connection where the client sends a chunk that
   * `sent` matches, the server's next reply is dropped and that connection reset (both
   * sides), as a link that fails just after the server did the work and before the client
   * heard of it (a COMMIT that landed, answered by a reset). Other connections, and new
   * ones, carry on. Resolves once it happened; rejects, disarmed, when nothing matched
   * within `timeoutMs` (10 s). `how: 'silence'`: the reply is dropped and that connection
   * goes silent instead (open, forwarding nothing either way, as stall() leaves it): the
   * server did the work and the client waits for an answer that never comes. `how: 'unsent'`:
   * the matching chunk itself never reaches the server and that connection is reset (both
   * sides): the server never did the work (a COMMIT lost on its way, the transaction rolled
   * back as its connection dropped), and the client cannot tell this from a lost reply.
   */
  loseReplyTo(
    sent: (chunk: Buffer) => boolean,
    timeoutMs?: number,
    how?: 'reset' | 'silence' | 'unsent',
  ): Promise<void>
  /**
   * Resolves when a client first sends a chunk that `sent` matches, before it is forwarded;
   * the traffic itself is left alone. For a test that acts at that moment (cuts another
   * link as a COMMIT goes out). Rejects when nothing matched within `timeoutMs` (10 s).
   */
  watchFor(sent: (chunk: Buffer) => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export interface TcpProxyOptions {
  /**
   * Holds everything the server sends this long before the client gets it (in order):
   * a far server, whose answers are on their way while the client goes on.
   */
  replyDelayMs?: number
}

/** Starts a proxy on a free loopback port that forwards every connection to `targetHost:targetPort`. */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
  { replyDelayMs = 0 }: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const open = new Set<{ client: Socket; upstream: Socket }>()
  /** Connections that went silent (stall): open, forwarding nothing. */
  const silent = new Set<Socket>()
  let isCut = false
  let isStalled = false
  let accepted = 0
  /** loseReplyTo, while armed: what to look for, and who waits for it to happen. */
  let losing:
    | { sent: (chunk: Buffer) => boolean; done: () => void; how: 'reset' | 'silence' | 'unsent' }
    | undefined

  /** watchFor, while waiting: what to look for, and who waits. */
  const watching = new Set<{ sent: (chunk: Buffer) => boolean; done: () => void }>()

  const silence = (socket: Socket) => {
    socket.unpipe()
    socket.pause()
    silent.add(socket)
    socket.on('error', () => socket.destroy()).on('close', () => silent.delete(socket))
  }

  const server = createServer((client) => {
    accepted += 1
    if (isCut) {
      client.resetAndDestroy()
      return
    }
    if (isStalled) {
      silence(client)
      return
    }
    const upstream = tcpConnect(targetPort, targetHost)
    const pair = { client, upstream }
    open.add(pair)
    // Either side ending or failing takes the other with it, like one real connection.
    const drop = () => {
      open.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    /** loseReplyTo matched what this client sent: its next reply is dropped, the link reset or silenced. */
    let loseNextReply: { done: () => void; how: 'reset' | 'silence' | 'unsent' } | undefined
    // Piped through a tap too, so a matched chunk can be held back ('unsent').
    const sentTap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        for (const watch of [...watching]) {
          if (!watch.sent(chunk)) continue
          watching.delete(watch)
          watch.done()
        }
        const armed = losing?.sent(chunk) ? losing : undefined
        if (!armed) return callback(null, chunk)
        losing = undefined
        if (armed.how !== 'unsent') {
          loseNextReply = armed
          return callback(null, chunk)
        }
        open.delete(pair)
        client.resetAndDestroy()
        upstream.destroy()
        armed.done()
        callback()
      },
    })
    client.pipe(sentTap).pipe(upstream)
    /** True when this reply is the one to lose: the connection is reset instead. */
    const lost = () => {
      const losing = loseNextReply
      if (!losing) return false
      loseNextReply = undefined
      open.delete(pair)
      if (losing.how === 'silence') {
        silence(client)
        silence(upstream)
      } else {
        client.resetAndDestroy()
        upstream.destroy()
      }
      losing.done()
      return true
    }
    if (replyDelayMs > 0) {
      // Timers of one delay run in the order they were set: the bytes stay in order.
      upstream.on('data', (chunk: Buffer) => {
        if (lost()) return
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk)
        }, replyDelayMs)
      })
    } else {
      // Piped through a tap, so the server is still held back by a slow client.
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          if (lost()) callback()
          else callback(null, chunk)
        },
      })
      upstream.pipe(tap).pipe(client)
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port')

  const resetAll = () => {
    for (const pair of [...open]) {
      open.delete(pair)
      pair.client.resetAndDestroy()
      pair.upstream.destroy()
    }
  }

  return {
    port: address.port,
    get isCut() {
      return isCut
    },
    get accepted() {
      return accepted
    },
    cut() {
      isCut = true
      resetAll()
    },
    stall() {
      isStalled = true
      for (const pair of [...open]) {
        open.delete(pair)
        silence(pair.client)
        silence(pair.upstream)
      }
    },
    restore() {
      isCut = false
      isStalled = false
    },
    loseReplyTo(sent, timeoutMs = 10_000, how = 'reset') {
      return new Promise<void>((resolve, reject) => {
        const armed = {
          sent,
          how,
          done: () => {
            clearTimeout(timer)
            resolve()
          },
        }
        // Disarmed when nothing matched in time, so a later test's statement is not the one lost.
        const timer = setTimeout(() => {
          if (losing === armed) losing = undefined
          reject(new Error(`tcp proxy: nothing sent matched loseReplyTo within ${timeoutMs} ms`))
        }, timeoutMs)
        losing = armed
      })
    },
    watchFor(sent, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const watch = {
          sent,
          done: () => {
            clearTimeout(timer)
            resolve()
          },
        }
        const timer = setTimeout(() => {
          watching.delete(watch)
          reject(new Error(`tcp proxy: nothing sent matched watchFor within ${timeoutMs} ms`))
        }, timeoutMs)
        watching.add(watch)
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        resetAll()
        for (const socket of [...silent]) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A proxy in front of the server `serverUrl` names, and the same URL pointed at the proxy. */
async function startProxyFor(
  serverUrl: string,
  defaultPort: number,
  options?: TcpProxyOptions,
): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(serverUrl)
  const proxy = await startTcpProxy(Number(target.port || defaultPort), target.hostname, options)
  const url = new URL(serverUrl)
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  return { proxy, url: url.toString() }
}

/** The text of a MySQL COM_QUERY packet (mysql2 sends each query in one write), lower-cased, else ''. */
export function mysqlQueryText(chunk: Buffer): string {
  return chunk.length > 5 && chunk[4] === 0x03 ? chunk.subarray(5).toString('utf8').toLowerCase() : ''
}

/** A chunk that is a COMMIT statement, for loseReplyTo and watchFor on a MySQL proxy. */
export const isMysqlCommit = (chunk: Buffer): boolean => mysqlQueryText(chunk) === 'commit'

/**
 * A proxy in front of the MySQL server that `mysqlUrl` names, and the same URL pointed
 * at the proxy: give that URL to what should lose MySQL when the test cuts the link,
 * and keep the test's own checks on `mysqlUrl`.
 */
export function startMysqlProxy(mysqlUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
  return startProxyFor(mysqlUrl, 3306)
}

/** The same for the Redis server that `redisUrl` names: give the URL to the app that should lose it. */
export function startRedisProxy(
  redisUrl: string,
  options?: TcpProxyOptions,
): Promise<{ proxy: TcpProxy; url: string }> {
  return startProxyFor(redisUrl, 6379, options)
}
