import type { Database } from '@concert/db'
import type { Kysely } from 'kysely'
import type { EventKeys } from './keys.js'
import { recordSoldOut } from './queue-epochs.repository.js'
import type { RedisClient } from './redis-client.js'
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

/** The event's sale settings from MySQL, or undefined if there is no such event. */
export async function loadSaleSettings(
  db: Kysely<Database>,
  eventId: number,
): Promise<(SaleSettings & { drawnAt: Date | null }) | undefined> {
  const row = await db
    .selectFrom('EVENT')
    .leftJoin('QUEUE_EPOCH', 'QUEUE_EPOCH.event_id', 'EVENT.id')
    .select([
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
    .where('EVENT.id', '=', eventId)
    .executeTakeFirst()
  if (!row) return undefined
  return {
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

/**
 * Writes the settings into the event's `sale` hash (absent values removed), so
 * the next script run on any copy applies them; a read older than the one
 * already published changes nothing (publish-sale-1.lua). The pre-queue's facts
 * (prequeueLast, drawn) and the sold-out flag have writers of their own
 * (the draw, setSoldOut) and are restored by recovery, so they are left alone.
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
  await redis.queuePublishSale(
    keys.sale,
    s.updatedAt.getTime(),
    ...Object.entries(values).flatMap(([name, value]) => [name, value ?? '']),
  )
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
 * false again (a refund) reopens the sale.
 */
export async function setSoldOut(
  db: Kysely<Database>,
  redis: RedisClient,
  keys: EventKeys,
  soldOut: boolean,
): Promise<void> {
  await recordSoldOut(db, keys.eventId, soldOut)
  if (soldOut) await redis.hset(keys.sale, 'soldOut', '1')
  else await redis.hdel(keys.sale, 'soldOut')
}
