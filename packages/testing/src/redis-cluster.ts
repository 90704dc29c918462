import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ask, freePort, spawnRedis, stopProcesses, waitFor } from './redis-server.js'

const run = promisify(execFile)

export interface LocalRedisCluster {
  /** redis://127.0.0.1:<port> of one master, the seed for a Cluster client. */
  seedUrl: string
  ports: number[]
  /** FLUSHALL on every master: the whole cluster loses its data. */
  flushAll(): Promise<void>
  stop(): Promise<void>
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
    const port = await freePort(taken, true)
    taken.add(port)
    ports.push(port)
  }
  const processes: ChildProcess[] = ports.map((port) =>
    spawnRedis(port, dir, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
    ]),
  )
  const stop = async () => {
    await stopProcesses(processes)
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
