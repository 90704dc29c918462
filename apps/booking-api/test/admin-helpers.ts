import type { App } from '@concert/http'
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

/** Rows per table of the operator catalogue, to prove a refused request wrote nothing. */
export async function catalogueCounts(env: TestEnv): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of [
    'VENUE',
    'VENUE_SEAT',
    'EVENT',
    'SEAT_PRICE',
    'EVENT_SCHEDULE',
    'ADMIN_AUDIT',
  ] as const) {
    const row = await env.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    counts[table] = Number(row.n)
  }
  return counts
}
