import { connect } from 'node:net'

export interface RawExchange {
  /** Everything the server wrote, as text. */
  received: string
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number
  /** Bytes of `drip` written after the first chunk, before the server closed. */
  dripped: number
  /** Parsed from `received` when it holds an HTTP response. */
  status: number | undefined
  headers: Record<string, string>
  body: string
}

export interface RawRequestOptions {
  /** Written one at a time, every `dripEveryMs`, after `head` (a slow client). */
  drip?: string
  dripEveryMs?: number
  /** Give up (and fail) if the server has not closed the connection by then. */
  giveUpAfterMs?: number
  /** Close the connection right after writing `head`: a client that hangs up at once. */
  hangUpAfterWrite?: boolean
}

/**
 * Speaks HTTP over a bare TCP socket, for what fetch cannot send: a broken
 * request line, a body trickled in byte by byte. Resolves once the server
 * closes the connection.
 */
export function rawHttp(port: number, head: string, options: RawRequestOptions = {}): Promise<RawExchange> {
  const { drip, dripEveryMs = 5_000, giveUpAfterMs = 30_000, hangUpAfterWrite = false } = options
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let dripped = 0
    let dripTimer: NodeJS.Timeout | undefined
    const giveUp = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open for ${giveUpAfterMs} ms`))
    }, giveUpAfterMs)
    const finish = () => {
      clearInterval(dripTimer)
      clearTimeout(giveUp)
      const received = Buffer.concat(chunks).toString('utf8')
      const [headText = '', body = ''] = received.split('\r\n\r\n', 2)
      const [statusLine = '', ...headerLines] = headText.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]
      resolve({
        received,
        closedAfterMs: Date.now() - started,
        dripped,
        status: status ? Number(status) : undefined,
        headers,
        body,
      })
    }
    socket.on('data', (chunk) => chunks.push(chunk))
    // A reset after the answer still counts as closed: what matters is what arrived.
    socket.on('error', () => {})
    socket.on('close', finish)
    socket.write(head)
    if (hangUpAfterWrite) socket.destroy()
    if (drip) {
      let next = 0
      dripTimer = setInterval(() => {
        if (next >= drip.length || socket.destroyed) return
        socket.write(drip[next] as string)
        next += 1
        dripped = next
      }, dripEveryMs)
    }
  })
}
