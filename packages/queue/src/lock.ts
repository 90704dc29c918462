import type { RedisClient } from './redis-client.js'
import { defineQueueCommands } from './scripts.js'

export type LockOutcome<T> = { locked: true; value: T } | { locked: false }

/** With several keys, a refusal names the first key that was held by someone else. */
export type LocksOutcome<T> = { locked: true; value: T } | { locked: false; busyKey: string }

/**
 * The one Redis lock: an owner-valued key with a TTL, taken with SET NX,
 * kept alive while `work` runs (extended every third of the TTL, only by its
 * owner) and released by its owner only (compare-and-delete). A holder that
 * dies stops extending, so its lock is free again within one TTL.
 * Used for seat locks (booking) and for recovery (one rebuilder per event).
 */
export async function withLock<T>(
  redis: RedisClient,
  key: string,
  owner: string,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<LockOutcome<T>> {
  const outcome = await withLocks(redis, [key], owner, ttlMs, work)
  return outcome.locked ? outcome : { locked: false }
}

/**
 * All of `keys` or none: takes them one by one in the order given and, at the first
 * one held by someone else, gives back those it took and does not run `work`. Callers
 * that may want overlapping sets pass them in one global order (seats: ascending id),
 * so two of them never wait on each other's halves. Every key taken is released.
 */
export async function withLocks<T>(
  redis: RedisClient,
  keys: readonly string[],
  owner: string,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<LocksOutcome<T>> {
  defineQueueCommands(redis)
  const held: string[] = []
  const keepAlive = setInterval(
    () => {
      for (const key of held) void redis.queueExtendLock(key, owner, ttlMs).catch(() => undefined)
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  )
  keepAlive.unref()
  try {
    for (const key of keys) {
      if (!(await redis.set(key, owner, 'PX', ttlMs, 'NX'))) return { locked: false, busyKey: key }
      held.push(key)
    }
    return { locked: true, value: await work() }
  } finally {
    clearInterval(keepAlive)
    await Promise.all(held.map((key) => redis.queueUnlock(key, owner).catch(() => undefined)))
  }
}
