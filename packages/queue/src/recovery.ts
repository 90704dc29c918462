import { randomUUID } from 'node:crypto'
import type { Database } from '@concert/db'
import type { Kysely } from 'kysely'
import { type EventKeys, eventKeys } from './keys.js'
import { withLock } from './lock.js'
import { beginNextEpoch } from './queue-epochs.repository.js'
import { findTokensToRestore, highestPlace, highestPlaceIssuedBefore } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { Reply, replyCode } from './replies.js'
import { loadSaleSettings, publishSaleSettings, saleChanged } from './sale.js'
import { defineQueueCommands } from './scripts.js'
import { DEFAULT_QUEUE_TUNING } from './settings.js'
import { tokenFieldValues } from './token-state.js'

export interface RecoverySummary {
  eventId: number
  waiting: number
  ready: number
  expired: number
  /** The FIFO counter resumes above this place. */
  maxPlace: number
  /** The queue's new epoch (QUEUE_EPOCH), now the marker's value. */
  epoch: number
}

/** A summary when this call rebuilt the queue; PRESENT when it was there (or another process rebuilt it). */
export type RecoveryOutcome = RecoverySummary | 'PRESENT' | 'UNKNOWN_EVENT'

export interface RecoveryOptions {
  redis: RedisClient
  db: Kysely<Database>
  prefix: string
  retentionSeconds: number
  lockTtlMs?: number
  onRecovered?: (summary: RecoverySummary) => void
}

/** Tokens per restore-script call: keeps each script run short. */
const CHUNK = 500
/** How long a request waits for a queue being rebuilt before it gives up (its script then answers 503). */
const MARKER_WAIT_MS = 10_000

/**
 * Rebuilds an event's queue in Redis from QUEUE_TOKEN when its marker key is
 * gone (Redis restarted without persistence, FLUSHALL, a fresh Redis, or the
 * event's first use). WAITING tokens come back in place order, READY tokens
 * with their original expiry, recently EXPIRED ones so polls still answer.
 * One process rebuilds (the event's recovery lock); the others wait for the marker,
 * and take the rebuild over if the lock goes without one (Redis lost its data
 * again mid-rebuild, lock included).
 */
export class QueueRecovery {
  private readonly inflight = new Map<number, Promise<RecoveryOutcome>>()
  private readonly lockTtlMs: number

  constructor(private readonly options: RecoveryOptions) {
    this.lockTtlMs = options.lockTtlMs ?? DEFAULT_QUEUE_TUNING.recoveryLockTtlMs
    defineQueueCommands(options.redis)
  }

  /** Makes sure the event's queue is present in Redis (rebuilding it if needed). */
  async ensure(eventId: number): Promise<RecoveryOutcome> {
    if (await this.options.redis.exists(eventKeys(this.options.prefix, eventId).marker)) return 'PRESENT'
    return this.recover(eventId)
  }

  /**
   * Rebuilds the event's queue unless another process is already doing so (then
   * waits for it). Events that do not exist are never given Redis keys, so
   * made-up tokens cannot make the service create state for them.
   */
  recover(eventId: number): Promise<RecoveryOutcome> {
    let running = this.inflight.get(eventId)
    if (!running) {
      running = this.run(eventKeys(this.options.prefix, eventId)).finally(() => this.inflight.delete(eventId))
      this.inflight.set(eventId, running)
    }
    return running
  }

  private async run(keys: EventKeys): Promise<RecoveryOutcome> {
    const { db, redis } = this.options
    const event = await db.selectFrom('EVENT').select('id').where('id', '=', keys.eventId).executeTakeFirst()
    if (!event) return 'UNKNOWN_EVENT'
    const deadline = Date.now() + MARKER_WAIT_MS
    for (;;) {
      const owner = randomUUID()
      const outcome = await withLock(redis, keys.recovering, owner, this.lockTtlMs, async () => {
        if (await redis.exists(keys.marker)) return 'PRESENT' as const
        const summary = await this.restore(keys, owner)
        if (summary) this.options.onRecovered?.(summary)
        return summary ?? ('LOST_LOCK' as const)
      })
      if (outcome.locked && outcome.value !== 'LOST_LOCK') return outcome.value
      // Another process rebuilds: wait for its marker. A lock that goes without one
      // (Redis lost its data again mid-rebuild, taking the lock, ours included) has
      // nobody rebuilding any more, so this process takes the rebuild over at once.
      if ((await this.waitForMarker(keys, deadline)) || Date.now() >= deadline) return 'PRESENT'
    }
  }

  /** The rebuild; undefined if its lock was lost on the way (another rebuild took over). */
  private async restore(keys: EventKeys, owner: string): Promise<RecoverySummary | undefined> {
    const { db, redis, retentionSeconds } = this.options
    const eventId = keys.eventId
    // The fence: from here on no write read from the lost Redis can commit, so
    // what is read next is final for the old epoch (see queue-epochs.repository.ts).
    const epoch = await beginNextEpoch(db, eventId)
    await this.restoreSale(keys)
    const states = await findTokensToRestore(db, eventId, new Date(Date.now() - retentionSeconds * 1000))
    const maxPlace = await highestPlace(db, eventId)

    const summary: RecoverySummary = { eventId, waiting: 0, ready: 0, expired: 0, maxPlace, epoch }
    for (const state of states) {
      if (state.status === 'WAITING') summary.waiting += 1
      else if (state.status === 'READY') summary.ready += 1
      else summary.expired += 1
    }
    for (let start = 0; start === 0 || start < states.length; start += CHUNK) {
      const chunk = states.slice(start, start + CHUNK)
      const last = start + CHUNK >= states.length
      const reply = await redis.queueRestore(
        keys.marker,
        keys.seq,
        keys.waiting,
        keys.records,
        keys.active,
        keys.accounts,
        keys.recovering,
        keys.tokenKeyBase,
        maxPlace,
        retentionSeconds,
        last ? String(epoch) : '',
        owner,
        ...chunk.flatMap(tokenFieldValues),
      )
      if (replyCode(reply) === Reply.NOT_OWNER) return undefined
    }
    // The rebuilt queue (its sale flags, its READY tokens) is what the admission loops
    // must now judge; they skip events they last saw as not admitting.
    await saleChanged(redis, keys)
    return summary
  }

  /**
   * The sale settings, the sold-out flag, and the pre-queue's facts: drawn (recorded
   * in MySQL), or its last provisional place.
   */
  private async restoreSale(keys: EventKeys): Promise<void> {
    const { db, redis } = this.options
    const sale = await loadSaleSettings(db, keys.eventId)
    if (!sale) return
    await publishSaleSettings(redis, keys, sale)
    const prequeueLast =
      sale.opensAt && !sale.drawnAt ? await highestPlaceIssuedBefore(db, keys.eventId, sale.opensAt) : 0
    const multi = redis.multi()
    if (sale.soldOut) multi.hset(keys.sale, 'soldOut', '1')
    else multi.hdel(keys.sale, 'soldOut')
    if (sale.drawnAt) multi.hset(keys.sale, 'drawn', '1')
    else multi.hdel(keys.sale, 'drawn')
    if (prequeueLast > 0) multi.hset(keys.sale, 'prequeueLast', String(prequeueLast))
    else multi.hdel(keys.sale, 'prequeueLast')
    await multi.exec()
  }

  /** True once the marker is there; false as soon as nobody holds the recovery lock, or at the deadline. */
  private async waitForMarker(keys: EventKeys, deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      if (await this.options.redis.exists(keys.marker)) return true
      if (!(await this.options.redis.exists(keys.recovering))) return false
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return false
  }
}
