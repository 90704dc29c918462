import type { Database } from '@concert/db'
import type { Kysely } from 'kysely'
import { markDurable } from './durable-tickets.js'
import { eventKeys } from './keys.js'
import { writeInCurrentEpoch } from './queue-epochs.repository.js'
import { newestPerToken } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { type RefusedRow, writeApart } from './refused-rows.js'
import { defineQueueCommands } from './scripts.js'
import { DEFAULT_QUEUE_TUNING } from './settings.js'
import { pairs, type TokenState, toTokenState } from './token-state.js'

const GROUP = 'mirror'

type StreamEntry = [id: string, fields: string[]]
type ReadReply = Array<[stream: string, entries: StreamEntry[]]> | null

export interface MirrorOptions {
  redis: RedisClient
  db: Kysely<Database>
  prefix: string
  /** Unique per process: the consumer name in the stream's group. */
  consumer: string
  batchSize?: number
  /** Entries left unacknowledged this long by a dead consumer are taken over. */
  claimIdleMs?: number
  /** Told of each state MySQL refused for good (not retried), with MySQL's error: for the operator. */
  onRefused?: (state: TokenState, error: unknown) => void
}

/**
 * Copies each event's stream of token changes into QUEUE_TOKEN. Every gateway
 * copy runs one; the consumer group hands each entry to one of them, entries
 * are acknowledged (and deleted) only after their batch committed (a join deletes its
 * own entry once its row has committed: DurableTickets), and a dead
 * copy's pending entries are claimed by the others.
 */
export class MirrorWorker {
  private readonly batchSize: number
  private readonly claimIdleMs: number
  private readonly groups = new Set<string>()
  /** Streams where a batch of ours failed and waits in our pending list. */
  private readonly retryOwn = new Set<string>()
  /**
   * Records refused because their epoch had ended: read from Redis before it
   * lost its data, they reached MySQL after the rebuild had begun.
   */
  fencedTotal = 0
  /** States MySQL refused for good (writeApart), left out of QUEUE_TOKEN. */
  refusedTotal = 0

  constructor(private readonly options: MirrorOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_QUEUE_TUNING.mirrorBatchSize
    this.claimIdleMs = options.claimIdleMs ?? DEFAULT_QUEUE_TUNING.mirrorClaimIdleMs
    defineQueueCommands(options.redis)
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.groups.has(stream)) return
    try {
      // '0': entries appended before the group existed are mirrored too.
      await this.options.redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM')
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error
    }
    this.groups.add(stream)
  }

  /**
   * Entries of ours deleted since we read them come back with no fields: a join whose
   * own write committed deletes its entry (DurableTickets), so there is nothing left to
   * write. Acknowledged here, so they leave our pending list at once.
   */
  private async live(stream: string, entries: StreamEntry[]): Promise<StreamEntry[]> {
    const gone = entries.filter((entry) => entry[1] === null).map(([id]) => id)
    if (gone.length > 0) await this.options.redis.xack(stream, GROUP, ...gone)
    return gone.length > 0 ? entries.filter((entry) => entry[1] !== null) : entries
  }

  private async read(stream: string): Promise<StreamEntry[]> {
    const { redis, consumer } = this.options
    const readGroup = async (from: '0' | '>') => {
      const reply = (await redis.xreadgroup(
        'GROUP',
        GROUP,
        consumer,
        'COUNT',
        this.batchSize,
        'STREAMS',
        stream,
        from,
      )) as ReadReply
      return this.live(stream, reply?.[0]?.[1] ?? [])
    }
    // A batch of ours that failed (MySQL down, a conflict to retry) is tried again first.
    if (this.retryOwn.has(stream)) {
      let own = await readGroup('0')
      // A batch of deleted entries only (acknowledged now): what else is pending comes next.
      while (own.length === 0 && (await this.hasPending(stream))) own = await readGroup('0')
      if (own.length > 0) return own
      this.retryOwn.delete(stream)
    }
    const [, stale] = (await redis.xautoclaim(
      stream,
      GROUP,
      consumer,
      this.claimIdleMs,
      '0',
      'COUNT',
      this.batchSize,
    )) as [string, StreamEntry[]]
    // (Redis 7's XAUTOCLAIM drops deleted entries from the pending list itself.)
    const claimed = stale.filter((entry) => entry[1] !== null)
    if (claimed.length > 0) return claimed
    return readGroup('>')
  }

  /** Whether this consumer still has entries pending in the stream's group. */
  private async hasPending(stream: string): Promise<boolean> {
    const { redis, consumer } = this.options
    const pending = (await redis.xpending(stream, GROUP, '-', '+', 1, consumer)) as unknown[]
    return pending.length > 0
  }

  /** Mirrors one batch of the event's stream; returns how many entries it applied. */
  async pump(eventId: number): Promise<number> {
    const k = eventKeys(this.options.prefix, eventId)
    const stream = k.stream
    let entries: StreamEntry[]
    try {
      await this.ensureGroup(stream)
      entries = await this.read(stream)
    } catch (error) {
      if (!String(error).includes('NOGROUP')) throw error
      // Redis lost the stream and its group (restart, FLUSHALL): make them again.
      this.groups.delete(stream)
      await this.ensureGroup(stream)
      entries = await this.read(stream)
    }
    if (entries.length === 0) return 0
    const records = entries.map(([id, fields]) => {
      const record = pairs(fields)
      return { id, epoch: Number(record.e ?? 0), state: toTokenState(record) }
    })
    const committed: Array<{ epoch: number; states: TokenState[] }> = []
    let fenced = 0
    let refused: Array<RefusedRow<(typeof records)[number]>>
    try {
      refused = await writeApart(
        records,
        (part) =>
          writeInCurrentEpoch(this.options.db, eventId, (_trx, epoch) =>
            part.filter((record) => record.epoch === epoch).map((record) => record.state),
          ),
        (part, epoch) => {
          fenced += part.filter((record) => record.epoch !== epoch).length
          const states = part.filter((record) => record.epoch === epoch).map((record) => record.state)
          committed.push({ epoch, states: newestPerToken(states) })
        },
      )
      // Now in MySQL: these states may be told without writing them again (QueueService).
      for (const part of committed) await markDurable(this.options.redis, k, part.epoch, part.states)
    } catch (error) {
      // The whole batch is written again (a part that committed, harmlessly: same versions).
      this.retryOwn.add(stream)
      throw error
    }
    // A state MySQL refuses for good is not retried: it would hold back the event's stream.
    // Its hash keeps the unmirrored mark, so it is never told before a write of its own
    // succeeds (QueueService), and a later state of the ticket is mirrored as usual.
    // Counted once the batch is done: a batch that failed part-way is written again whole.
    this.fencedTotal += fenced
    this.refusedTotal += refused.length
    for (const { item, error } of refused) this.options.onRefused?.(item.state, error)
    const ids = entries.map(([id]) => id)
    await this.options.redis
      .multi()
      .xack(stream, GROUP, ...ids)
      .xdel(stream, ...ids)
      .exec()
    return entries.length
  }

  /** Pumps until the stream is empty (tests, shutdown). */
  async drain(eventId: number): Promise<number> {
    let total = 0
    for (;;) {
      const applied = await this.pump(eventId)
      total += applied
      if (applied === 0) return total
    }
  }

  /** Entries appended but not yet mirrored (acknowledged entries are deleted). */
  async lag(eventId: number): Promise<{ entries: number; oldestAgeMs: number }> {
    const stream = eventKeys(this.options.prefix, eventId).stream
    const [length, first] = await Promise.all([
      this.options.redis.xlen(stream),
      this.options.redis.xrange(stream, '-', '+', 'COUNT', 1),
    ])
    const firstId = first[0]?.[0]
    const oldestAgeMs = firstId ? Math.max(0, Date.now() - Number(firstId.split('-')[0])) : 0
    return { entries: length, oldestAgeMs }
  }
}
