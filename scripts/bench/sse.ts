import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { type Child, repoRoot, rssBytes } from './processes.js'
import { totalCommands } from './redis.js'

export interface SseStep {
  streams: number
  open: number
  failed: number
  /** Why streams failed (HTTP status or error code), with counts. */
  reasons: Record<string, number>
  /** Gateway RSS growth per open stream (bytes), from just before this step's streams opened. */
  rssPerStream: number
  /** Gateway RSS (bytes) with the streams open. */
  rss: number
  /** Redis commands per second (INFO commandstats Σ calls) while the streams were open. */
  commandsPerSecond: number
}

/** Streams per client process: well inside one process's file limit. */
const PER_CLIENT = 9_000

/** The soft limit of open files this process (and so each child) has. */
export function openFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8')
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
}

/**
 * How many streams one gateway can hold here: each is a socket (one file) in the
 * gateway, which also keeps ~100 files for itself. Prints why when it is fewer than asked.
 */
export function streamsThisMachineAllows(wanted: number): number {
  const limit = openFileLimit()
  const allowed = Math.max(1, Math.min(wanted, limit - 500))
  if (allowed < wanted) {
    console.log(
      `  !! ulimit -n is ${limit}: one gateway process cannot hold ${wanted} streams (one file each); ` +
        `measuring ${allowed}. Raise it (ulimit -n 65536, or the hard limit in /etc/security/limits.conf) for the full figure.`,
    )
  }
  return allowed
}

interface Report {
  open: number
  failed: number
  reasons: Record<string, number>
}

/** Opens streams from client processes; resolves once every stream answered, with the clients to stop later. */
async function openStreams(gatewayUrl: string, tokens: readonly string[]) {
  const clients: Array<{ child: ChildProcess; report: Promise<Report> }> = []
  for (let i = 0; i < tokens.length; i += PER_CLIENT) {
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'scripts/bench/sse-client.ts'],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', GATEWAY_URL: gatewayUrl },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    child.stdin.end(tokens.slice(i, i + PER_CLIENT).join('\n'))
    const report = new Promise<Report>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n')[0]
        if (out.includes('\n') && line) resolve(JSON.parse(line))
      })
      child.once('exit', (code) => reject(new Error(`SSE client exited (${code})`)))
    })
    clients.push({ child, report })
  }
  const reports = await Promise.all(clients.map((c) => c.report))
  const reasons: Record<string, number> = {}
  for (const r of reports)
    for (const [why, n] of Object.entries(r.reasons)) reasons[why] = (reasons[why] ?? 0) + n
  return {
    reasons,
    open: reports.reduce((sum, r) => sum + r.open, 0),
    failed: reports.reduce((sum, r) => sum + r.failed, 0),
    stop: async () => {
      await Promise.all(
        clients.map(({ child }) => {
          if (child.exitCode !== null || child.signalCode !== null) return undefined
          const exited = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGTERM')
          return exited
        }),
      )
    },
  }
}

/** Redis commands per second over `seconds`. */
export async function commandsPerSecond(redis: Redis, seconds: number): Promise<number> {
  const before = await totalCommands(redis)
  const started = performance.now()
  await sleep(seconds * 1000)
  const after = await totalCommands(redis)
  // The INFO call that took `after` counts itself: not the gateway's.
  return (after - before - 1) / ((performance.now() - started) / 1000)
}

/** One step: `tokens.length` streams open on the gateway, measured, then closed. */
export async function sseStep(
  gateway: Child,
  redis: Redis,
  tokens: readonly string[],
  windowSeconds: number,
): Promise<SseStep> {
  const baselineRss = rssBytes(gateway.process.pid as number)
  const streams = await openStreams(gateway.url, tokens)
  try {
    // Let the first refresh of every stream pass, so the window sees the steady state.
    await sleep(6_000)
    const rss = rssBytes(gateway.process.pid as number)
    const cps = await commandsPerSecond(redis, windowSeconds)
    return {
      streams: tokens.length,
      open: streams.open,
      failed: streams.failed,
      reasons: streams.reasons,
      rssPerStream: streams.open > 0 ? (rss - baselineRss) / streams.open : Number.NaN,
      rss,
      commandsPerSecond: cps,
    }
  } finally {
    await streams.stop()
    await sleep(3_000)
  }
}
