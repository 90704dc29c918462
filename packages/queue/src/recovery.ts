import { randomUUID } from 'node:crypto'
import type { Database } from '@concert/db'
import { type Kysely, sql } from 'kysely'
import { type EventKeys, eventKeys } from './keys.js'
import type { RedisClient } from './redis-client.js'
import { defineQueueCommands } from './scripts.js'

export interface RecoverySummary {
  eventId: number
  waiting: number
  ready: number
  expired: number
  /** The FIFO counter resumes above this place. */
  maxPlace: number
}

/** A summary when this call rebuilt the queue; PRESENT when it was there (or another process rebuilt it). */
export type RecoveryOutcome = RecoverySummary | 'PRESENT' | 'UNKNOWN_EVENT'

const CHUNK = 500
const LOCK_TTL_MS = 30_000

const ms = (date: Date | null) => (date ? String(date.getTime()) : '')

/**
 * Rebuilds an event's queue in Redis from QUEUE_TOKEN when its marker key is
 * gone (Redis restarted without persistence, FLUSHALL, a fresh Redis, or the
 * event's first use). WAITING tokens come back in place order, READY tokens
 * with their original expiry, recently EXPIRED ones so polls still answer.
 * One process rebuilds (a Redis lock); the others wait for the marker.
 */
export class QueueRecovery {
  private readonly inflight = new Map<number, Promise<RecoveryOutcome>>()

  constructor(
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
    private readonly onRecovered: (summary: RecoverySummary) => void = () => {},
  ) {
    defineQueueCommands(redis)
  }

  /** Makes sure the event's queue is present in Redis (rebuilding it if needed). */
  async ensure(eventId: number): Promise<RecoveryOutcome> {
    if (await this.redis.exists(eventKeys(this.prefix, eventId).marker)) return 'PRESENT'
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
      running = this.run(eventKeys(this.prefix, eventId)).finally(() => this.inflight.delete(eventId))
      this.inflight.set(eventId, running)
    }
    return running
  }

  private async run(keys: EventKeys): Promise<RecoveryOutcome> {
    const event = await this.db
      .selectFrom('EVENT')
      .select('id')
      .where('id', '=', keys.eventId)
      .executeTakeFirst()
    if (!event) return 'UNKNOWN_EVENT'
    const owner = randomUUID()
    const acquired = await this.redis.set(keys.recovering, owner, 'PX', LOCK_TTL_MS, 'NX')
    if (!acquired) {
      await this.waitForMarker(keys)
      return 'PRESENT'
    }
    try {
      if (await this.redis.exists(keys.marker)) return 'PRESENT'
      const summary = await this.restore(keys)
      this.onRecovered(summary)
      return summary
    } finally {
      await this.redis.queueUnlock(keys.recovering, owner)
    }
  }

  private async restore(keys: EventKeys): Promise<RecoverySummary> {
    const eventId = keys.eventId
    const expiredSince = new Date(Date.now() - this.retentionSeconds * 1000)
    const rows = await this.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('event_id', '=', eventId)
      .where((eb) => eb.or([eb('status', 'in', ['WAITING', 'READY']), eb('expires_at', '>=', expiredSince)]))
      .orderBy('position')
      .execute()
    const max = await this.db
      .selectFrom('QUEUE_TOKEN')
      .select(sql<number | null>`MAX(position)`.as('maxPlace'))
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    const maxPlace = Number(max?.maxPlace ?? 0)

    const summary: RecoverySummary = { eventId, waiting: 0, ready: 0, expired: 0, maxPlace }
    for (const row of rows) {
      if (row.status === 'WAITING') summary.waiting += 1
      else if (row.status === 'READY') summary.ready += 1
      else summary.expired += 1
    }
    for (let start = 0; start === 0 || start < rows.length; start += CHUNK) {
      const chunk = rows.slice(start, start + CHUNK)
      const last = start + CHUNK >= rows.length
      const args = chunk.flatMap((row) => [
        row.token,
        row.account_id,
        String(row.event_id),
        String(row.position),
        row.status,
        row.reason ?? '',
        ms(row.issued_at),
        ms(row.ready_at),
        ms(row.expires_at),
        String(row.version),
      ])
      await this.redis.queueRestore(
        keys.marker,
        keys.seq,
        keys.waiting,
        keys.heartbeat,
        keys.active,
        keys.accounts,
        keys.tokenKeyBase,
        maxPlace,
        this.retentionSeconds,
        last ? '1' : '0',
        ...args,
      )
    }
    return summary
  }

  private async waitForMarker(keys: EventKeys, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.redis.exists(keys.marker)) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
