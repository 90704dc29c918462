import { readdirSync, readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import { commandCounts, infoNumber } from './redis.js'

/*
 * Where a phase's CPU went, per operation: which process the work is in tells whether a
 * path is held back by the app or by the stores (on 2 cores they share, every process's
 * CPU is taken from the others). Linux /proc and Redis INFO; a process not found is left out.
 */

/** CPU seconds a process has used so far (utime + stime of /proc/<pid>/stat). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The local MariaDB/MySQL server's pid, when it runs on this machine. */
function localMysqlPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (comm === 'mariadbd' || comm === 'mysqld') return Number(entry)
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined
}

export interface CpuSources {
  /** Named child processes (the apps). */
  pids: Record<string, number>
  redis: Redis
}

type Reading = Record<string, number>

async function read(sources: CpuSources, mysqlPid: number | undefined): Promise<Reading> {
  const reading: Reading = {}
  for (const [name, pid] of Object.entries(sources.pids)) reading[name] = cpuSecondsOf(pid)
  if (mysqlPid !== undefined) reading.MariaDB = cpuSecondsOf(mysqlPid)
  reading.Redis =
    (await infoNumber(sources.redis, 'cpu', 'used_cpu_user')) +
    (await infoNumber(sources.redis, 'cpu', 'used_cpu_sys'))
  const own = process.cpuUsage()
  reading['bench process'] = (own.user + own.system) / 1e6
  return reading
}

export interface CpuMeter {
  per(operations: number, benchProcess?: string): Promise<string>
}

/** Starts counting; `per(n)` gives each process's CPU µs per operation since then. */
export async function cpuMeter(sources: CpuSources): Promise<CpuMeter> {
  const mysqlPid = localMysqlPid()
  const commandsBefore = await commandCounts(sources.redis)
  const before = await read(sources, mysqlPid)
  return {
    /** `benchProcess`: what this process did meanwhile (the load generator, the client). */
    async per(operations, benchProcess) {
      const after = await read(sources, mysqlPid)
      const commandsAfter = await commandCounts(sources.redis)
      // The meter's own INFO calls (two per reading, and the first count) are left out.
      const commandsRun = commandsAfter.all - commandsBefore.all - 5
      const scriptsRun = commandsAfter.scripts - commandsBefore.scripts
      const cpu = Object.keys(before)
        .map((name) => {
          const us = (((after[name] ?? 0) - (before[name] ?? 0)) * 1e6) / operations
          return `${name} ${Math.round(us).toLocaleString('en-US')} µs`
        })
        .join(', ')
      // Redis work per answer, from every client (the apps' loops too): commands (a
      // script's own calls included) and script runs (a batch of checks is one).
      const note = benchProcess ? ` (bench process: ${benchProcess})` : ''
      const per = (n: number) => (n / operations).toFixed(2)
      return `${cpu}${note}; Redis per answer: ${per(commandsRun)} commands, ${per(scriptsRun)} scripts`
    },
  }
}

/** What counts as a quiet machine: the apps and stores together below this share of one core. */
const QUIET_SHARE = 0.1
/** How long the quiet must last, and how often it is sampled. */
const QUIET_WINDOW_MS = 500
/** Never wait longer than this: a load then runs on a busy machine, and says so. */
const MAX_SETTLE_MS = 30_000

/**
 * Waits until the apps, MariaDB and Redis (not this process) have together used less than
 * QUIET_SHARE of one core for QUIET_WINDOW_MS, at least `minMs` from now. A path measured
 * right after another one would otherwise share the machine with the work the previous one
 * left behind: the mirror writing the purchases' tokens to MySQL, InnoDB's purge, the
 * admission loops sweeping idle fans, a GC. Ratios are taken between quiet measurements.
 * Returns how long it waited and the busy share it last saw (quiet or not).
 */
export async function settle(
  sources: CpuSources,
  minMs = 1_000,
): Promise<{ waitedMs: number; busyShare: number; quiet: boolean }> {
  const mysqlPid = localMysqlPid()
  const started = performance.now()
  const busy = async (): Promise<number> => {
    const reading = await read(sources, mysqlPid)
    return Object.entries(reading)
      .filter(([name]) => name !== 'bench process')
      .reduce((sum, [, seconds]) => sum + seconds, 0)
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, minMs - QUIET_WINDOW_MS)))
  for (;;) {
    const before = await busy()
    const at = performance.now()
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS))
    const busyShare = ((await busy()) - before) / ((performance.now() - at) / 1000)
    const waitedMs = performance.now() - started
    if (busyShare < QUIET_SHARE) return { waitedMs, busyShare, quiet: true }
    if (waitedMs >= MAX_SETTLE_MS) return { waitedMs, busyShare, quiet: false }
  }
}
