import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)

export interface LocalRedisCluster {
  /** redis://127.0.0.1:<port> of one master, the seed for a Cluster client. */
  seedUrl: string
  ports: number[]
  /** FLUSHALL on every master: the whole cluster loses its data. */
  flushAll(): Promise<void>
  stop(): Promise<void>
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port p with p and its cluster bus port p + 10000 both free. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (taken.has(port)) continue
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`local Redis Cluster: ${what} within ${timeoutMs} ms`)
}

async function ask(port: number, ...command: [string, ...string[]]): Promise<unknown> {
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

/**
 * Starts a real Redis Cluster of `masters` nodes on loopback with the machine's
 * redis-server (no replicas, nothing on disk but the node files in a temp dir),
 * for tests that prove the scripts run unchanged on Cluster.
 */
export async function startLocalRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'concert-redis-cluster-'))
  const ports: number[] = []
  const taken = new Set<number>()
  for (let i = 0; i < masters; i += 1) {
    const port = await freeClusterPort(taken)
    taken.add(port)
    ports.push(port)
  }
  const processes: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  )
  const stop = async () => {
    for (const child of processes) child.kill('SIGTERM')
    await Promise.all(
      processes.map((child) =>
        child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)),
      ),
    )
    await rm(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports)
      await waitFor(async () => (await ask(port, 'PING')) === 'PONG', `node ${port} did not start`)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    for (const port of ports) {
      await waitFor(
        async () => String(await ask(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        `node ${port} did not reach cluster_state:ok`,
      )
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    seedUrl: `redis://127.0.0.1:${ports[0]}`,
    ports,
    flushAll: async () => {
      for (const port of ports) await ask(port, 'FLUSHALL')
    },
    stop,
  }
}
