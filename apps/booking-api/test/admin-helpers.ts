import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import type { TestEnv } from '@concert/testing'
import { DateTime } from 'luxon'
import { expect } from 'vitest'
import { buildBooking } from './helpers.js'

/** Two keys, as during a rotation: both open the admin API. */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef'
export const OTHER_ADMIN_KEY = 'rotated-admin-key-fedcba9876543210'

/** A booking API whose operator API takes ADMIN_KEY and OTHER_ADMIN_KEY. */
export function buildAdminBooking(env: TestEnv, overrides: Record<string, string> = {}) {
  return buildBooking(env, { ADMIN_API_KEYS: `${ADMIN_KEY}, ${OTHER_ADMIN_KEY}`, ...overrides })
}

export const adminAuth = (key = ADMIN_KEY) => ({ authorization: `Bearer ${key}` })

/** One admin request with the admin key (or `key`); answers status and parsed body. */
export async function admin(
  app: App,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  key: string | null = ADMIN_KEY,
) {
  const response = await app.inject({
    method,
    url,
    headers: key === null ? {} : adminAuth(key),
    ...(body === undefined ? {} : { payload: body as object }),
  })
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body ? response.json() : undefined,
  }
}

/** Seats 1..count: the first `vip` are VIP in area A, the rest R in area B. */
export function layout(count: number, vip = Math.floor(count / 3)) {
  return Array.from({ length: count }, (_, i) => ({
    seatNumber: String(i + 1),
    area: i < vip ? 'A' : 'B',
    seatType: i < vip ? 'VIP' : 'R',
  }))
}

export async function createVenue(
  app: App,
  name: string,
  options: { seats?: number; timeZone?: string } = {},
): Promise<{ id: number; seats: Array<{ seatId: number; seatNumber: string; seatType: string }> }> {
  const created = await admin(app, 'POST', '/v1/admin/venues', {
    name,
    timeZone: options.timeZone ?? 'Asia/Seoul',
    seats: layout(options.seats ?? 30),
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body
}

export async function createEvent(
  app: App,
  venueId: number,
  title: string,
  prices: Record<string, number> = { VIP: 150_000, R: 90_000 },
): Promise<number> {
  const created = await admin(app, 'POST', '/v1/admin/events', { title, venueId, prices })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body.id
}

export async function addShow(
  app: App,
  eventId: number,
  show: { date: string; startTime: string; endTime?: string },
): Promise<number> {
  const created = await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, show)
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return created.body.scheduleId
}

/** The wall-clock date and time in `zone` at now + offsetMs, as a show's body gives them. */
export function wallClock(zone: string, offsetMs: number) {
  const at = DateTime.fromMillis(Date.now() + offsetMs, { zone })
  return { date: at.toFormat('yyyy-MM-dd'), startTime: at.toFormat('HH:mm:ss') }
}

/**
 * Everything an admin request could write, by content rather than by count: the
 * catalogue (VENUE, VENUE_SEAT, EVENT with its sale window and queue settings,
 * SEAT_PRICE, EVENT_SCHEDULE), sales and money (RESERVATION, BALANCE_HISTORY,
 * ACCOUNT balances), QUEUE_EPOCH (sold-out flag, draw), ADMIN_AUDIT, and each
 * event's sale-settings hash in Redis (what the gateways admit by). Equal before
 * and after refused requests: they wrote nothing, not even a changed column.
 */
export async function writtenState(env: TestEnv) {
  const rows = async <T extends object>(query: Promise<T[]>) =>
    (await query).sort((a, b) => compare(JSON.stringify(a), JSON.stringify(b)))
  const db = env.db
  const events = await rows(db.selectFrom('EVENT').selectAll().execute())
  const saleSettings: Record<number, Record<string, string>> = {}
  for (const event of events) {
    saleSettings[event.id] = await env.redis.hgetall(eventKeys(env.keyPrefix, event.id).sale)
  }
  return {
    VENUE: await rows(db.selectFrom('VENUE').selectAll().execute()),
    VENUE_SEAT: await rows(db.selectFrom('VENUE_SEAT').selectAll().execute()),
    EVENT: events,
    SEAT_PRICE: await rows(db.selectFrom('SEAT_PRICE').selectAll().execute()),
    EVENT_SCHEDULE: await rows(db.selectFrom('EVENT_SCHEDULE').selectAll().execute()),
    RESERVATION: await rows(db.selectFrom('RESERVATION').selectAll().execute()),
    BALANCE_HISTORY: await rows(db.selectFrom('BALANCE_HISTORY').selectAll().execute()),
    ACCOUNT: await rows(db.selectFrom('ACCOUNT').select(['id', 'amount', 'updated_at']).execute()),
    QUEUE_EPOCH: await rows(db.selectFrom('QUEUE_EPOCH').selectAll().execute()),
    ADMIN_AUDIT: await rows(db.selectFrom('ADMIN_AUDIT').selectAll().execute()),
    saleSettings,
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
