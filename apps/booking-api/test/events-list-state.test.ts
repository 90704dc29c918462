import type { App } from '@concert/http'
import { insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addShow, admin, buildAdminBooking, createVenue } from './admin-helpers.js'
import { bearer, readyTokens, until } from './helpers.js'

// The public events list says each sale's state (SPEC §8) and opening, so a fan sees
// "sold out" or "opens at" before signing up; it follows a pause or a sell-out as soon as
// the seat maps follow a sale (SEAT_MAP_CACHE_MS).
const env = useTestEnv()
let app: App

beforeAll(async () => {
  app = await buildAdminBooking(env)
})
afterAll(async () => {
  await app?.close()
})

async function eventWithShow(title: string, seats: number, sale: Record<string, unknown> = {}) {
  const venue = await createVenue(app, `${title} Hall`, { seats })
  // A price for each seat type the venue has.
  const prices = Object.fromEntries(venue.seats.map((seat) => [seat.seatType, 1_000]))
  const created = await admin(app, 'POST', '/v1/admin/events', { title, venueId: venue.id, prices, sale })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const scheduleId = await addShow(app, created.body.id, { date: '2031-07-01', startTime: '19:00:00' })
  return { eventId: created.body.id as number, scheduleId, seatIds: venue.seats.map((seat) => seat.seatId) }
}

async function listed(eventId: number): Promise<{ state: string; opensAt: string | null } | undefined> {
  const response = await app.inject({ method: 'GET', url: '/v1/events' })
  expect(response.statusCode, response.body).toBe(200)
  return (response.json() as Array<{ id: number; state: string; opensAt: string | null }>).find(
    (event) => event.id === eventId,
  )
}

describe('the events list says each sale’s state', () => {
  it('OPEN, SCHEDULED with its opening, PRE_QUEUE, CLOSED; then PAUSED and SOLD_OUT as they happen', async () => {
    const hour = 3_600_000
    const opensLater = new Date(Date.now() + 2 * hour).toISOString()
    const opensSoon = new Date(Date.now() + 10 * 60_000).toISOString()
    const open = await eventWithShow('Open Now', 1)
    const scheduled = await eventWithShow('Opens Later', 4, { opensAt: opensLater, preQueueMinutes: 15 })
    const preQueue = await eventWithShow('Opens Soon', 4, { opensAt: opensSoon, preQueueMinutes: 15 })
    const closed = await eventWithShow('Closed Already', 4, {
      opensAt: new Date(Date.now() - 2 * hour).toISOString(),
      closesAt: new Date(Date.now() - hour).toISOString(),
    })
    const paused = await eventWithShow('Paused Soon', 4)

    expect(await listed(open.eventId)).toMatchObject({ state: 'OPEN', opensAt: null })
    expect(await listed(scheduled.eventId)).toMatchObject({ state: 'SCHEDULED', opensAt: opensLater })
    expect(await listed(preQueue.eventId)).toMatchObject({ state: 'PRE_QUEUE', opensAt: opensSoon })
    expect(await listed(closed.eventId)).toMatchObject({ state: 'CLOSED' })
    expect(await listed(paused.eventId)).toMatchObject({ state: 'OPEN' })

    const pausing = await admin(app, 'PATCH', `/v1/admin/events/${paused.eventId}/queue`, { paused: true })
    expect(pausing.status).toBe(200)
    await until(async () => (await listed(paused.eventId))?.state === 'PAUSED', 'the pause in the list')

    // The only seat of "Open Now" sold: the list says sold out.
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'list-state', balance: 100_000 })
    const token = (await readyTokens(env, open.eventId, [fan as string])).get(fan as string) as string
    const sale = await app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(token),
      payload: { scheduleId: open.scheduleId, seatId: open.seatIds[0] },
    })
    expect(sale.statusCode, sale.body).toBe(201)
    await until(async () => (await listed(open.eventId))?.state === 'SOLD_OUT', 'the sell-out in the list')
  })
})
