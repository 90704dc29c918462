import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './processes.js'

export interface BenchRedis {
  url: string
  /** 'private' (a redis-server of its own) or 'shared' (BENCH_REDIS_URL, keys under our prefix). */
  kind: 'private' | 'shared'
  stop(): Promise<void>
}

/**
 * The bench's Redis. By default a private redis-server (no persistence), because two
 * of its figures read server-wide counters (`INFO memory` used_memory, `INFO
 * commandstats` calls) that other users of a shared Redis would blur. With
 * BENCH_REDIS_URL it uses that server instead; every key is then under the run's
 * prefix and deleted at the end, and the two figures include the others' traffic.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const shared = process.env.BENCH_REDIS_URL
  if (shared) return { url: shared, kind: 'shared', stop: async () => {} }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'concert-bench-redis-'))
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const failed = new Promise<never>((_resolve, reject) =>
    child.once('error', (error) =>
      reject(
        new Error(
          `redis-server could not start (${error.message}); set BENCH_REDIS_URL to use a running one`,
        ),
      ),
    ),
  )
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 })
  probe.on('error', () => {})
  await Promise.race([
    failed,
    (async () => {
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        if ((await probe.ping().catch(() => '')) === 'PONG') return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error('private redis-server did not answer within 10 s')
    })(),
  ]).finally(() => probe.disconnect())
  return {
    url,
    kind: 'private',
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A field of `INFO <section>` as a number. */
export async function infoNumber(redis: Redis, section: string, field: string): Promise<number> {
  const info = await redis.info(section)
  const value = new RegExp(`^${field}:(\\d+(?:\\.\\d+)?)`, 'm').exec(info)?.[1]
  if (value === undefined) throw new Error(`INFO ${section} has no ${field}`)
  return Number(value)
}

/** Σ calls over `INFO commandstats`: every command the server ran since its start. */
export async function totalCommands(redis: Redis): Promise<number> {
  return (await commandCounts(redis)).all
}

/**
 * `INFO commandstats` read once: every command the server ran since its start (a
 * script's own calls included), and how many of them were script runs (EVALSHA, EVAL).
 */
export async function commandCounts(redis: Redis): Promise<{ all: number; scripts: number }> {
  const info = await redis.info('commandstats')
  let all = 0
  let scripts = 0
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    all += Number(match[2])
    if (match[1] === 'evalsha' || match[1] === 'eval') scripts += Number(match[2])
  }
  return { all, scripts }
}
