import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { cpuSecondsOf } from './cpu.js'
import { infoNumber } from './redis.js'

/** What a quiet stack costs while nobody queues: the gateway's CPU and Redis's work. */
export interface IdleCost {
  /** The gateway's CPU, in % of one core. */
  gatewayCore: number
  redisCommandsPerSecond: number
  /** Redis's CPU, in % of one core. */
  redisCore: number
}

export interface IdleResult {
  events: number
  before: IdleCost
  after: IdleCost
}

async function idleCost(redis: Redis, gatewayPid: number, seconds: number): Promise<IdleCost> {
  const commands = () => infoNumber(redis, 'stats', 'total_commands_processed')
  const redisCpu = async () =>
    (await infoNumber(redis, 'cpu', 'used_cpu_user')) + (await infoNumber(redis, 'cpu', 'used_cpu_sys'))
  const gateway0 = cpuSecondsOf(gatewayPid)
  const commands0 = await commands()
  const redis0 = await redisCpu()
  const started = performance.now()
  await sleep(seconds * 1000)
  const elapsed = (performance.now() - started) / 1000
  // The meter's own INFO calls (three here, three before) are left out.
  const ran = (await commands()) - commands0 - 6
  return {
    gatewayCore: ((cpuSecondsOf(gatewayPid) - gateway0) / elapsed) * 100,
    redisCommandsPerSecond: Math.max(0, ran) / elapsed,
    redisCore: (((await redisCpu()) - redis0) / elapsed) * 100,
  }
}

/**
 * Events on sale that nobody queues for cost next to nothing (workers.ts: an OPEN sale
 * with no waiters is ticked every QUEUE_IDLE_RECHECK_MS, an empty mirror stream read at
 * most every 500 ms). Measured on the running gateway: its CPU and Redis's commands over
 * `seconds`, before and after `events` more events with a show each are made (and the
 * gateway's event list has picked them up).
 */
export async function idlePhase(o: {
  redis: Redis
  gatewayPid: number
  events: number
  seconds: number
  createEvents: (count: number) => Promise<unknown>
}): Promise<IdleResult> {
  const before = await idleCost(o.redis, o.gatewayPid, o.seconds)
  await o.createEvents(o.events)
  // The gateway re-reads its events every QUEUE_EVENTS_REFRESH_MS (1 s in the bench), ticks
  // each new one once, and backs its mirror reads off within about a second.
  await sleep(3_000)
  const after = await idleCost(o.redis, o.gatewayPid, o.seconds)
  return { events: o.events, before, after }
}
