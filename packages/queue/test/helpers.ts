import type { Database } from '@concert/db'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { MirrorWorker, QueueService, type QueueSettings } from '../src/index.js'

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
