import { randomUUID } from 'node:crypto'
import type { Database, DbExecutor } from '@concert/db'
import type { Kysely, Transaction } from 'kysely'
import type { EventKeys } from './keys.js'
import { lockSoldOut, readSoldOut, recordSoldOut } from './queue-epochs.repository.js'
import { retryTokenWrite } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { Reply, replyCode } from './replies.js'
import { defineQueueCommands } from './scripts.js'

/*
 * The sale (SPEC §8) as the queue scripts see it: the event's `sale` hash in
 * Redis, a copy of what MySQL holds (EVENT's sale window, pause flag and queue
 * overrides; QUEUE_EPOCH's sold-out flag). The state itself is derived in Lua
 * (lua/includes/sale.lua) on the Redis clock, so every copy agrees on it.
 */

/** What MySQL says about an event's sale; null overrides mean "the deployment's default". */
export interface SaleSettings {
  /** EVENT.updated_at when read: a publish never replaces a newer one. */
  updatedAt: Date
  opensAt: Date | null
  closesAt: Date | null
  preQueueMinutes: number
  paused: boolean
  soldOut: boolean
  maxActive: number | null
  admitPerSecond: number | null
  activeTtlSeconds: number | null
  waitingIdleSeconds: number | null
}

/** An event's sale settings as MySQL holds them, with the event's id and when its pre-queue was drawn. */
export type EventSaleSettings = SaleSettings & { eventId: number; drawnAt: Date | null }

/** EVENT's sale columns with QUEUE_EPOCH's flags, for one event or all. */
function selectSaleSettings(db: DbExecutor) {
  return db
    .selectFrom('EVENT')
    .leftJoin('QUEUE_EPOCH', 'QUEUE_EPOCH.event_id', 'EVENT.id')
    .select([
      'EVENT.id',
      'EVENT.opens_at',
      'EVENT.closes_at',
      'EVENT.pre_queue_minutes',
      'EVENT.paused',
      'EVENT.max_active',
      'EVENT.admit_per_second',
      'EVENT.active_ttl_seconds',
      'EVENT.waiting_idle_seconds',
      'EVENT.updated_at',
      'QUEUE_EPOCH.sold_out',
      'QUEUE_EPOCH.drawn_at',
    ])
}

function toSaleSettings(
  row: Awaited<ReturnType<ReturnType<typeof selectSaleSettings>['executeTakeFirstOrThrow']>>,
): EventSaleSettings {
  return {
    eventId: row.id,
    updatedAt: row.updated_at,
    opensAt: row.opens_at,
    closesAt: row.closes_at,
    preQueueMinutes: Number(row.pre_queue_minutes),
    paused: Boolean(row.paused),
    soldOut: Boolean(row.sold_out),
    maxActive: row.max_active,
    admitPerSecond: row.admit_per_second,
    activeTtlSeconds: row.active_ttl_seconds,
    waitingIdleSeconds: row.waiting_idle_seconds,
    drawnAt: row.drawn_at ?? null,
  }
}

/** The event's sale settings from MySQL, or undefined if there is no such event. */
export async function loadSaleSettings(
  db: Kysely<Database>,
  eventId: number,
): Promise<EventSaleSettings | undefined> {
  const row = await selectSaleSettings(db).where('EVENT.id', '=', eventId).executeTakeFirst()
  return row ? toSaleSettings(row) : undefined
}

/** Every event's sale settings, by ascending id, in one query (the gateway's refresh). */
export async function loadAllSaleSettings(db: Kysely<Database>): Promise<EventSaleSettings[]> {
  return (await selectSaleSettings(db).orderBy('EVENT.id').execute()).map(toSaleSettings)
}

/**
 * Events an operator still watches live, ascending: the sale not closed at `now` and the
 * last show not over. EVENT.end_date is the venue's calendar date; it is compared with the
 * date in UTC−12, the world's last, so no event is dropped before its last day ends
 * everywhere. Bounds the per-event metrics to the sales that can still move.
 */
export async function liveEventIds(db: DbExecutor, now: Date = new Date()): Promise<number[]> {
  const westernmostToday = new Date(now.getTime() - 12 * 3_600_000).toISOString().slice(0, 10)
  const rows = await db
    .selectFrom('EVENT')
    .select('id')
    .where((eb) => eb.or([eb('closes_at', 'is', null), eb('closes_at', '>', now)]))
    .where((eb) => eb.or([eb('end_date', 'is', null), eb('end_date', '>=', westernmostToday)]))
    .orderBy('id')
    .execute()
  return rows.map((row) => row.id)
}

/**
 * Tells every gateway's admission loop that a sale hash changed (keys.ts#saleChangesKey):
 * an event it leaves alone may need ticks again. A fresh random value, not a counter, so
 * a Redis that lost the key and counted up again can never show a value already seen.
 */
export async function saleChanged(redis: RedisClient, keys: EventKeys): Promise<void> {
  await redis.set(keys.saleChanges, randomUUID())
}

/**
 * Writes the settings into the event's `sale` hash (absent values removed), so
 * the next script run on any copy applies them; a read older than the one
 * already published changes nothing (publish-sale-1.lua). The pre-queue's facts
 * (prequeueLast, drawn) and the sold-out flag have writers of their own
 * (the draw, setSoldOut) and are restored by recovery, so they are left alone.
 * When a value changed, the admission loops are told (saleChanged).
 */
export async function publishSaleSettings(
  redis: RedisClient,
  keys: EventKeys,
  s: SaleSettings,
): Promise<void> {
  const values: Record<string, string | null> = {
    opensAt: s.opensAt ? String(s.opensAt.getTime()) : null,
    closesAt: s.closesAt ? String(s.closesAt.getTime()) : null,
    preQueueFrom: s.opensAt ? String(s.opensAt.getTime() - s.preQueueMinutes * 60_000) : null,
    paused: s.paused ? '1' : null,
    maxActive: s.maxActive === null ? null : String(s.maxActive),
    admitPerSecond: s.admitPerSecond === null ? null : String(s.admitPerSecond),
    activeTtlMs: s.activeTtlSeconds === null ? null : String(s.activeTtlSeconds * 1000),
    waitingIdleMs: s.waitingIdleSeconds === null ? null : String(s.waitingIdleSeconds * 1000),
  }
  defineQueueCommands(redis)
  const reply = await redis.queuePublishSale(
    keys.sale,
    s.updatedAt.getTime(),
    ...Object.entries(values).flatMap(([name, value]) => [name, value ?? '']),
  )
  if (replyCode(reply) === Reply.OK && Number(reply[1]) === 1) await saleChanged(redis, keys)
}

/** Reads the event's settings from MySQL and publishes them; false if the event does not exist. */
export async function refreshSaleSettings(
  db: Kysely<Database>,
  redis: RedisClient,
  keys: EventKeys,
): Promise<boolean> {
  const settings = await loadSaleSettings(db, keys.eventId)
  if (!settings) return false
  await publishSaleSettings(redis, keys, settings)
  return true
}

/**
 * Records whether the event is sold out (QUEUE_EPOCH, so it survives Redis)
 * and tells the queue at once: the next admission tick (≤ 100 ms) ends every
 * WAITING ticket with reason SOLD_OUT, and joins answer 409 EVENT_SOLD_OUT;
 * false again (a refund) reopens the sale, and the admission loops (told by
 * saleChanged) tick the event again.
 */
export async function setSoldOut(
  db: Kysely<Database>,
  redis: RedisClient,
  keys: EventKeys,
  soldOut: boolean,
): Promise<boolean> {
  await recordSoldOut(db, keys.eventId, soldOut)
  return syncSoldOut(db, redis, keys)
}

/**
 * After a sale or a refund (possibly on several copies at once): counts whether the
 * event is sold out (`count`, run in the transaction that holds the event's
 * QUEUE_EPOCH row, so one recount at a time per event) and records it, then tells
 * the queue (syncSoldOut). Without the lock, a copy that counted the last seat sold
 * could write its "sold out" after a refund on another copy had counted the seat free
 * and found nothing to change: sold out, with a seat for sale, until the next refund.
 * true: the queue was just told the event sold out.
 */
export async function recountSoldOut(
  db: Kysely<Database>,
  redis: RedisClient,
  keys: EventKeys,
  count: (trx: Transaction<Database>) => Promise<boolean>,
): Promise<boolean> {
  await retryTokenWrite(() =>
    db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        await lockSoldOut(trx, keys.eventId)
        await recordSoldOut(trx, keys.eventId, await count(trx))
      }),
  )
  return syncSoldOut(db, redis, keys)
}

/**
 * Brings the queue's sold-out flag to what QUEUE_EPOCH says, reading MySQL again after
 * each write: recounts commit one at a time, but their writes to Redis may land in
 * another order (a slower copy's older value last), and whoever wrote last puts that
 * right. true: this call told the queue the event sold out.
 */
export async function syncSoldOut(
  db: Kysely<Database>,
  redis: RedisClient,
  keys: EventKeys,
): Promise<boolean> {
  let toldSoldOut = false
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const soldOut = await readSoldOut(db, keys.eventId)
    if (soldOut === ((await redis.hget(keys.sale, 'soldOut')) === '1')) return toldSoldOut
    if (soldOut) await redis.hset(keys.sale, 'soldOut', '1')
    else await redis.hdel(keys.sale, 'soldOut')
    await saleChanged(redis, keys)
    toldSoldOut = soldOut
  }
  return toldSoldOut
}
