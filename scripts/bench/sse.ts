import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { settings } from './config.js'
import { type Child, repoRoot, rssBytes } from './processes.js'
import { totalCommands } from './redis.js'
import { fmt, type Row } from './report.js'

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

/**
 * The SSE phase: `tokens.length` streams (the large step) and the first
 * BENCH_SSE_STREAMS_SMALL of them (the small one) on one gateway, fresh from
 * `startGateway`; RSS per stream and Redis commands/s of each step, and their rows.
 */
export async function ssePhase(
  redis: Redis,
  tokens: readonly string[],
  startGateway: () => Promise<Child>,
): Promise<Row[]> {
  const large = tokens.length
  const small = Math.min(settings.sseSmall, large)
  const gateway = await startGateway()
  const idleCps = await commandsPerSecond(redis, settings.sseWindowSeconds)
  console.log(
    `  no streams: gateway RSS ${(rssBytes(gateway.process.pid as number) / 1e6).toFixed(1)} MB, Redis ${idleCps.toFixed(0)} commands/s`,
  )
  const step = async (count: number): Promise<SseStep> => {
    const measured = await sseStep(gateway, redis, tokens.slice(0, count), settings.sseWindowSeconds)
    console.log(
      `  ${count} streams (${measured.open} open, ${measured.failed} failed${measured.failed ? ` ${JSON.stringify(measured.reasons)}` : ''}): ${fmt.bytes(measured.rssPerStream)} RSS each, ` +
        `Redis ${measured.commandsPerSecond.toFixed(0)} commands/s`,
    )
    return measured
  }
  const sseSmall = await step(small)
  const sseLarge = await step(large)
  const cpsRatio = sseLarge.commandsPerSecond / sseSmall.commandsPerSecond
  return [
    {
      figure: `SSE ${small} streams: RSS per stream, Redis commands/s`,
      value: `${fmt.bytes(sseSmall.rssPerStream)}, ${sseSmall.commandsPerSecond.toFixed(0)}/s`,
    },
    {
      figure: `SSE ${large} streams: RSS per stream, Redis commands/s`,
      value: `${fmt.bytes(sseLarge.rssPerStream)}, ${sseLarge.commandsPerSecond.toFixed(0)}/s`,
    },
    {
      figure: `SSE RSS growth per added stream, ${small} → ${large}`,
      value: fmt.bytes((sseLarge.rss - sseSmall.rss) / Math.max(1, sseLarge.open - sseSmall.open)),
    },
    {
      figure: `SSE RSS per stream at ${large}`,
      value: fmt.bytes(sseLarge.rssPerStream),
      target: '≤ 10 KB (at 20,000)',
      pass: sseLarge.rssPerStream <= 10_240,
    },
    {
      figure: `SSE Redis commands/s, ${large} / ${small} streams`,
      value: fmt.ratio(cpsRatio),
      target: '≤ 1.10× (20,000 / 1,000)',
      pass: cpsRatio <= 1.1,
    },
  ]
}
