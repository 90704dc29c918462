import type { RedisClient } from './redis-client.js'
import { defineQueueCommands } from './scripts.js'

export type LockOutcome<T> = { locked: true; value: T } | { locked: false }

/**
 * The one Redis lock: an owner-valued key with a TTL, taken with SET NX,
 * kept alive while `work` runs (extended every third of the TTL, only by its
 * owner: extend-lock-1.lua) and released by its owner only (compare-and-delete:
 * unlock-1.lua). A holder that dies stops extending, so its lock is free again
 * within one TTL. Used for recovery (one rebuilder per event) and the pre-queue
 * draw (one drawer per event). Seat locks are not taken here: a purchase takes
 * them in one script with its token's claim (begin-purchase-4.lua).
 */
export async function withLock<T>(
  redis: RedisClient,
  key: string,
  owner: string,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<LockOutcome<T>> {
  defineQueueCommands(redis)
  if (!(await redis.set(key, owner, 'PX', ttlMs, 'NX'))) return { locked: false }
  const keepAlive = setInterval(
    () => void redis.queueExtendLock(key, owner, ttlMs).catch(() => undefined),
    Math.max(10, Math.floor(ttlMs / 3)),
  )
  keepAlive.unref()
  try {
    return { locked: true, value: await work() }
  } finally {
    clearInterval(keepAlive)
    await redis.queueUnlock(key, owner).catch(() => undefined)
  }
}
