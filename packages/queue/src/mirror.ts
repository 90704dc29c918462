import type { Database, DbExecutor, NewQueueToken } from '@concert/db'
import { retryOnDeadlock } from '@concert/db'
import { type Kysely, sql } from 'kysely'
import { eventKeys } from './keys.js'
import type { RedisClient } from './redis-client.js'
import { pairs, toTokenState } from './ticket.js'

const GROUP = 'mirror'

type StreamEntry = [id: string, fields: string[]]
type ReadReply = Array<[stream: string, entries: StreamEntry[]]> | null

export interface MirrorRow extends NewQueueToken {
  version: number
}

export function toMirrorRow(fields: Record<string, string>): MirrorRow {
  const state = toTokenState(fields)
  const date = (ms: number | null) => (ms === null ? null : new Date(ms))
  return {
    token: state.token,
    account_id: state.accountId,
    event_id: state.eventId,
    position: state.place,
    status: state.status,
    reason: state.reason,
    issued_at: new Date(state.issuedAt),
    ready_at: date(state.readyAt),
    expires_at: date(state.expiresAt),
    version: state.version,
  }
}

/** Keeps only each token's newest state; sorted by token so concurrent writers lock rows in one order. */
export function newestPerToken(rows: MirrorRow[]): MirrorRow[] {
  const newest = new Map<string, MirrorRow>()
  for (const row of rows) {
    const seen = newest.get(row.token)
    if (!seen || row.version > seen.version) newest.set(row.token, row)
  }
  return [...newest.values()].sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
}

/**
 * Version-guarded upsert: a row is only ever replaced by a newer state of the
 * same token, so batches may commit in any order, and a replayed batch (after
 * a crash between commit and XACK) changes nothing. `version` is assigned last
 * because MySQL evaluates the assignments left to right.
 */
export async function upsertQueueTokens(db: DbExecutor, rows: MirrorRow[]): Promise<void> {
  if (rows.length === 0) return
  const newer = sql<boolean>`VALUES(version) > version`
  await db
    .insertInto('QUEUE_TOKEN')
    .values(rows)
    .onDuplicateKeyUpdate({
      status: sql`IF(${newer}, VALUES(status), status)`,
      reason: sql`IF(${newer}, VALUES(reason), reason)`,
      ready_at: sql`IF(${newer}, VALUES(ready_at), ready_at)`,
      expires_at: sql`IF(${newer}, VALUES(expires_at), expires_at)`,
      version: sql`GREATEST(version, VALUES(version))`,
    })
    .execute()
}

export interface MirrorOptions {
  redis: RedisClient
  db: Kysely<Database>
  prefix: string
  /** Unique per process: the consumer name in the stream's group. */
  consumer: string
  batchSize?: number
  /** Entries left unacknowledged this long by a dead consumer are taken over. */
  claimIdleMs?: number
}

/**
 * Copies each event's stream of token changes into QUEUE_TOKEN. Every gateway
 * copy runs one; the consumer group hands each entry to one of them, entries
 * are acknowledged (and deleted) only after their batch committed, and a dead
 * copy's pending entries are claimed by the others.
 */
export class MirrorWorker {
  private readonly batchSize: number
  private readonly claimIdleMs: number
  private readonly groups = new Set<string>()

  constructor(private readonly options: MirrorOptions) {
    this.batchSize = options.batchSize ?? 500
    this.claimIdleMs = options.claimIdleMs ?? 30_000
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

  private async read(stream: string): Promise<StreamEntry[]> {
    const { redis, consumer } = this.options
    const [, stale] = (await redis.xautoclaim(
      stream,
      GROUP,
      consumer,
      this.claimIdleMs,
      '0',
      'COUNT',
      this.batchSize,
    )) as [string, StreamEntry[]]
    if (stale.length > 0) return stale.filter((entry) => entry[1] !== null)
    const reply = (await redis.xreadgroup(
      'GROUP',
      GROUP,
      consumer,
      'COUNT',
      this.batchSize,
      'STREAMS',
      stream,
      '>',
    )) as ReadReply
    return reply?.[0]?.[1] ?? []
  }

  /** Mirrors one batch of the event's stream; returns how many entries it applied. */
  async pump(eventId: number): Promise<number> {
    const stream = eventKeys(this.options.prefix, eventId).stream
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
    const rows = newestPerToken(entries.map(([, fields]) => toMirrorRow(pairs(fields))))
    // READ COMMITTED keeps InnoDB from gap-locking the rows a payment is about to insert.
    await retryOnDeadlock(() =>
      this.options.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute((trx) => upsertQueueTokens(trx, rows)),
    )
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
