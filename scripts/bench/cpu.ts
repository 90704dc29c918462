import { readdirSync, readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import { infoNumber } from './redis.js'

/*
 * Where a phase's CPU went, per operation: which process the work is in tells whether a
 * path is held back by the app or by the stores (on 2 cores they share, every process's
 * CPU is taken from the others). Linux /proc and Redis INFO; a process not found is left out.
 */

/** CPU seconds a process has used so far (utime + stime of /proc/<pid>/stat). */
function cpuSecondsOf(pid: number): number {
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

/** Starts counting; `per(n)` gives each process's CPU µs per operation since then. */
export async function cpuMeter(sources: CpuSources): Promise<{ per(operations: number): Promise<string> }> {
  const mysqlPid = localMysqlPid()
  const before = await read(sources, mysqlPid)
  return {
    async per(operations) {
      const after = await read(sources, mysqlPid)
      return Object.keys(before)
        .map((name) => {
          const us = (((after[name] ?? 0) - (before[name] ?? 0)) * 1e6) / operations
          return `${name} ${Math.round(us).toLocaleString('en-US')} µs`
        })
        .join(', ')
    },
  }
}
