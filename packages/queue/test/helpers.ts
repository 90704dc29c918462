import type { Database } from '@concert/db'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { MirrorWorker, QueueService, type QueueSettings, type Ticket } from '../src/index.js'

export const fastSettings: QueueSettings = {
  maxActive: 200,
  admitPerSecond: 50,
  activeTtlSeconds: 300,
  waitingIdleSeconds: 120,
  expiredRetentionSeconds: 600,
}

export function makeQueue(
  env: { redis: Redis; db: Kysely<Database>; keyPrefix: string },
  settings: Partial<QueueSettings> = {},
) {
  const queue = new QueueService({
    redis: env.redis,
    db: env.db,
    prefix: env.keyPrefix,
    settings: { ...fastSettings, ...settings },
  })
  const mirror = new MirrorWorker({ redis: env.redis, db: env.db, prefix: env.keyPrefix, consumer: 'test' })
  return { queue, mirror }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs admission ticks until `token` is READY; its READY ticket, or undefined if it never got there. */
export async function admitUntilReady(
  queue: QueueService,
  eventId: number,
  token: string,
  { attempts, pauseMs }: { attempts: number; pauseMs: number },
): Promise<Ticket | undefined> {
  for (let i = 0; i < attempts; i += 1) {
    await queue.admit(eventId)
    const ticket = await queue.get(token)
    if (ticket?.status === 'READY') return ticket
    await sleep(pauseMs)
  }
  return undefined
}
