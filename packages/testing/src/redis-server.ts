import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/*
 * Private redis-server processes on loopback, started from the machine's own
 * binary. Fault tests FLUSHALL, MONITOR, restart or kill them freely: nobody
 * else's data lives there, so the shared Redis on :6379 is never wiped.
 */

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A random free port p (with p + 10000 free too when `withBus`, for a Cluster bus), below 32768. */
export async function freePort(taken: Set<number> = new Set(), withBus = false): Promise<number> {
  // Below Linux's ephemeral range (32768+), from which the kernel hands out the local ports
  // of outgoing connections: a port chosen there can be taken by some test's MySQL or Redis
  // client between this check and the child's listen (EADDRINUSE seen in CI).
  for (;;) {
    const port = withBus
      ? 10_000 + Math.floor(Math.random() * 12_000)
      : 10_000 + Math.floor(Math.random() * 22_000)
    if (taken.has(port)) continue
    if ((await portIsFree(port)) && (!withBus || (await portIsFree(port + 10_000)))) return port
  }
}

export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`local Redis: ${what} within ${timeoutMs} ms`)
}

/** One command on a short-lived connection (no retries: a dead server answers with an error). */
export async function ask(port: number, ...command: [string, ...string[]]): Promise<unknown> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.call(...command)
  } finally {
    redis.disconnect()
  }
}

export function spawnRedis(port: number, dir: string, extra: string[] = []): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      ...extra,
    ],
    { stdio: 'ignore' },
  )
}

export async function stopProcesses(
  processes: ChildProcess[],
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const exits = processes.map((child) =>
    child.exitCode !== null || child.signalCode !== null
      ? undefined
      : new Promise((resolve) => child.once('exit', resolve)),
  )
  for (const child of processes) child.kill(signal)
  await Promise.all(exits)
}

export interface LocalRedis {
  url: string
  port: number
  /** Every key of this server is gone, as after a restart without persistence. */
  flushAll(): Promise<void>
  /** Kills the server (SIGKILL) and starts it again empty on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** The process id of the Redis answering on `port` (INFO server), if any answers. */
async function pidOn(port: number): Promise<number | undefined> {
  const info = String(await ask(port, 'INFO', 'server').catch(() => ''))
  const pid = /process_id:(\d+)/.exec(info)?.[1]
  return pid === undefined ? undefined : Number(pid)
}

/**
 * Spawns redis-server on `port` and resolves once it is the one answering there, or with
 * undefined if it exited first (the port was taken: test files start servers at once, and
 * a port found free can be taken before the child listens). Checking the process id, not
 * a PING, keeps a file from running against another file's server, FLUSHALL included.
 */
async function spawnOn(port: number, dir: string): Promise<ChildProcess | undefined> {
  const child = spawnRedis(port, dir)
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return undefined
    if ((await pidOn(port)) === child.pid) return child
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await stopProcesses([child])
  throw new Error(`local Redis: redis on ${port} did not start within 15000 ms`)
}

/** Starts a private, empty redis-server on a free loopback port. */
export async function startLocalRedis(): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'concert-redis-'))
  let port = 0
  let child: ChildProcess | undefined
  try {
    for (let attempt = 1; !child; attempt += 1) {
      if (attempt > 5) throw new Error('local Redis: no free port after 5 attempts')
      port = await freePort()
      child = await spawnOn(port, dir)
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  let running: ChildProcess = child
  const stop = async () => {
    await stopProcesses([running])
    await rm(dir, { recursive: true, force: true })
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    flushAll: async () => void (await ask(port, 'FLUSHALL')),
    restart: async () => {
      await stopProcesses([running], 'SIGKILL')
      const again = await spawnOn(port, dir)
      if (!again) throw new Error(`local Redis: port ${port} was taken while the server was down`)
      running = again
    },
    stop,
  }
}
