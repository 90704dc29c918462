import type { App } from '@concert/http'
import { insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addShow, admin, buildAdminBooking, createEvent, createVenue } from './admin-helpers.js'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

// The catalogue's read caches (events list, dates, seat maps) across two booking copies
// sharing MySQL and Redis: whatever one copy commits, the other answers at its next request.
const env = useTestEnv()
let a: App
let b: App
let venue: Awaited<ReturnType<typeof createVenue>>
let eventId: number
let otherEventId: number
let shows: number[]
let otherShow: number

const SEATS = 6

beforeAll(async () => {
  a = await buildAdminBooking(env)
  b = await buildAdminBooking(env)
  venue = await createVenue(a, 'Cache Hall', { seats: SEATS })
  eventId = await createEvent(a, venue.id, 'Cached Tour', { VIP: 100_000, R: 50_000 })
  otherEventId = await createEvent(a, venue.id, 'Other Tour', { VIP: 70_000, R: 30_000 })
  shows = [
    await addShow(a, eventId, { date: '2031-05-01', startTime: '19:00:00' }),
    await addShow(a, eventId, { date: '2031-05-02', startTime: '19:00:00' }),
  ]
  otherShow = await addShow(b, otherEventId, { date: '2031-05-01', startTime: '19:00:00' })
  await insertAccounts(env.db, 9, { prefix: 'cc', balance: 10_000_000 })
})

afterAll(async () => {
  await a?.close()
  await b?.close()
})

const get = (app: App, url: string, token?: string) =>
  app.inject({ method: 'GET', url, headers: token ? bearer(token) : {} })

async function seatMap(app: App, scheduleId: number, token: string) {
  const response = await get(app, `/v1/schedules/${scheduleId}/seats`, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as {
    scheduleId: number
    eventId: number
    maxSeatsPerOrder: number
    seats: Array<{ seatId: number; status: string; price: number }>
  }
}

/** Seat ids shown RESERVED, in seat order. */
const reserved = async (app: App, scheduleId: number, token: string) =>
  (await seatMap(app, scheduleId, token)).seats.filter((s) => s.status === 'RESERVED').map((s) => s.seatId)

/** scheduleId → availableSeats, as the dates list shows them. */
async function dates(app: App, event: number, token: string): Promise<Record<number, number>> {
  const response = await get(app, `/v1/events/${event}/schedules`, token)
  expect(response.statusCode, response.body).toBe(200)
  const listed = response.json() as Array<{ scheduleId: number; availableSeats: number; totalSeats: number }>
  for (const show of listed) expect(show.totalSeats).toBe(SEATS)
  return Object.fromEntries(listed.map((show) => [show.scheduleId, show.availableSeats]))
}

async function buy(app: App, token: string, scheduleId: number, seatIds: number[]) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId, seatIds },
  })
  expect(response.statusCode, response.body).toBe(201)
  return response.json() as { seats: Array<{ reservationId: number; seatId: number }> }
}

async function refund(app: App, reservationId: number) {
  const response = await admin(app, 'POST', `/v1/admin/reservations/${reservationId}/refund`, {
    reason: 'cache test',
  })
  expect(response.status, JSON.stringify(response.body)).toBe(200)
}

describe('catalogue caches across booking copies', () => {
  it('a sale on one copy is on the other copy’s seat map and dates at its next request; a refund too', async () => {
    const tokens = await readyTokens(env, eventId, ['cc-1', 'cc-2'])
    const viewer = tokens.get('cc-2') as string
    const [first, , third] = venue.seats.map((seat) => seat.seatId) as [number, number, number]
    // Both copies have everything cached before the sale.
    for (const app of [a, b]) {
      expect(await reserved(app, shows[0] as number, viewer)).toEqual([])
      expect(await dates(app, eventId, viewer)).toEqual({
        [shows[0] as number]: SEATS,
        [shows[1] as number]: SEATS,
      })
    }

    const sale = await buy(a, tokens.get('cc-1') as string, shows[0] as number, [first, third])
    for (const app of [b, a]) {
      expect(await reserved(app, shows[0] as number, viewer)).toEqual([first, third])
      expect(await reserved(app, shows[1] as number, viewer)).toEqual([])
      expect(await dates(app, eventId, viewer)).toEqual({
        [shows[0] as number]: SEATS - 2,
        [shows[1] as number]: SEATS,
      })
    }

    const firstSale = sale.seats.find((seat) => seat.seatId === first) as { reservationId: number }
    await refund(b, firstSale.reservationId)
    for (const app of [a, b]) {
      expect(await reserved(app, shows[0] as number, viewer)).toEqual([third])
      expect(await dates(app, eventId, viewer)).toEqual({
        [shows[0] as number]: SEATS - 1,
        [shows[1] as number]: SEATS,
      })
    }

    // Sold out: the show leaves the dates list on both copies; a refund brings it back.
    const rest = venue.seats.map((seat) => seat.seatId).filter((id) => id !== third)
    const buyers = await readyTokens(env, eventId, ['cc-3', 'cc-4'])
    const last = await buy(b, buyers.get('cc-3') as string, shows[0] as number, rest.slice(0, 4))
    const soldOut = await buy(a, buyers.get('cc-4') as string, shows[0] as number, rest.slice(4))
    for (const app of [a, b]) {
      expect(await dates(app, eventId, viewer)).toEqual({ [shows[1] as number]: SEATS })
      expect(await reserved(app, shows[0] as number, viewer)).toEqual(venue.seats.map((seat) => seat.seatId))
    }
    await refund(a, (soldOut.seats[0] as { reservationId: number }).reservationId)
    for (const app of [b, a]) {
      expect(await dates(app, eventId, viewer)).toEqual({
        [shows[0] as number]: 1,
        [shows[1] as number]: SEATS,
      })
      expect(await reserved(app, shows[0] as number, viewer)).toEqual(
        rest
          .slice(0, 4)
          .concat(third)
          .sort((x, y) => x - y),
      )
    }
    expect(last.seats).toHaveLength(4)
    await expectInvariants(env)
  })

  it('an operator’s prices, order limit, new show, removed show and new title reach the other copy at its next request', async () => {
    const event = await createEvent(a, venue.id, 'Changing Tour', { VIP: 10_000, R: 5_000 })
    const kept = await addShow(a, event, { date: '2031-06-01', startTime: '19:00:00' })
    const token = (await readyTokens(env, event, ['cc-5'])).get('cc-5') as string
    const prices = async (app: App) =>
      [...new Set((await seatMap(app, kept, token)).seats.map((s) => s.price))].sort((x, y) => x - y)
    const listedTitle = async (app: App) =>
      ((await get(app, '/v1/events')).json() as Array<{ id: number; title: string; endDate: string }>).find(
        (e) => e.id === event,
      )
    const orderLimit = async (app: App) => (await seatMap(app, kept, token)).maxSeatsPerOrder
    for (const app of [a, b]) {
      expect(await prices(app)).toEqual([5_000, 10_000])
      expect(await orderLimit(app)).toBe(4)
      expect(await dates(app, event, token)).toEqual({ [kept]: SEATS })
      expect(await listedTitle(app)).toMatchObject({ title: 'Changing Tour', endDate: '2031-06-01' })
    }

    const patched = await admin(a, 'PATCH', `/v1/admin/events/${event}`, {
      title: 'Changed Tour',
      prices: { VIP: 20_000 },
      limits: { maxSeatsPerOrder: 2 },
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    for (const app of [b, a]) {
      expect(await prices(app)).toEqual([5_000, 20_000])
      expect(await orderLimit(app)).toBe(2)
      expect(await listedTitle(app)).toMatchObject({ title: 'Changed Tour' })
    }

    const added = await addShow(b, event, { date: '2031-06-09', startTime: '20:00:00' })
    for (const app of [a, b]) {
      expect(await dates(app, event, token)).toEqual({ [kept]: SEATS, [added]: SEATS })
      expect(await listedTitle(app)).toMatchObject({ endDate: '2031-06-09' })
      expect((await seatMap(app, added, token)).seats).toHaveLength(SEATS)
    }

    expect((await admin(a, 'DELETE', `/v1/admin/schedules/${added}`)).status).toBe(204)
    for (const app of [b, a]) {
      const gone = await get(app, `/v1/schedules/${added}/seats`, token)
      expect(gone.statusCode).toBe(404)
      expect(gone.json().code).toBe('SCHEDULE_NOT_FOUND')
      expect(await dates(app, event, token)).toEqual({ [kept]: SEATS })
      expect(await listedTitle(app)).toMatchObject({ endDate: '2031-06-01' })
    }
  })

  it('never answers with another show’s or event’s data, nor past the token check', async () => {
    const tokens = await readyTokens(env, eventId, ['cc-6'])
    const mine = tokens.get('cc-6') as string
    const theirs = (await readyTokens(env, otherEventId, ['cc-6'])).get('cc-6') as string
    for (const app of [a, b]) {
      // Warm every cache with the right tokens first.
      const other = await seatMap(app, otherShow, theirs)
      expect(other).toMatchObject({ scheduleId: otherShow, eventId: otherEventId })
      expect(new Set(other.seats.map((s) => s.price))).toEqual(new Set([70_000, 30_000]))
      expect(Object.keys(await dates(app, otherEventId, theirs))).toEqual([String(otherShow)])
      for (const show of shows)
        expect(await seatMap(app, show, mine)).toMatchObject({ scheduleId: show, eventId })
      expect(
        Object.keys(await dates(app, eventId, mine))
          .map(Number)
          .sort(),
      ).toEqual([...shows].sort())

      // A token of one event gets nothing of the other's, cached or not.
      for (const [url, token] of [
        [`/v1/schedules/${otherShow}/seats`, mine],
        [`/v1/events/${otherEventId}/schedules`, mine],
        [`/v1/schedules/${shows[0]}/seats`, theirs],
        [`/v1/events/${eventId}/schedules`, theirs],
      ] as const) {
        const refused = await get(app, url, token)
        expect(refused.statusCode, url).toBe(403)
        expect(refused.json().code).toBe('TOKEN_SCOPE_MISMATCH')
      }
    }

    // A waiting token, and one that has paid, are refused although the answers are cached.
    const paid = (await readyTokens(env, otherEventId, ['cc-8'])).get('cc-8') as string
    await buy(a, paid, otherShow, [venue.seats[5]?.seatId as number])
    // Joined, and no admission runs in these apps: it stays WAITING.
    const waiting = (await fastQueue(env).join(otherEventId, 'cc-7')).ticket.token
    for (const app of [a, b]) {
      for (const url of [`/v1/schedules/${otherShow}/seats`, `/v1/events/${otherEventId}/schedules`]) {
        const early = await get(app, url, waiting)
        expect(early.statusCode, url).toBe(403)
        expect(early.json().code).toBe('TOKEN_NOT_READY')
        const spent = await get(app, url, paid)
        expect(spent.statusCode, url).toBe(401)
        expect(spent.json().code).toBe('TOKEN_EXPIRED')
      }
    }
  })

  it('a change the caches were not told of (written straight to MySQL) shows within SEAT_MAP_CACHE_MS', async () => {
    const quick = await buildBooking(env, { SEAT_MAP_CACHE_MS: '200' })
    const show = shows[1] as number
    const token = (await readyTokens(env, eventId, ['cc-9'])).get('cc-9') as string
    const seatId = venue.seats[5]?.seatId as number
    try {
      expect(await reserved(quick, show, token)).not.toContain(seatId)
      const before = (await dates(quick, eventId, token))[show] as number
      await env.db
        .insertInto('RESERVATION')
        .values({ schedule_id: show, seat_id: seatId, account_id: 'cc-9', price: 0 })
        .execute()
      // Past the bound (not a timing assertion: whatever the machine's speed, the answer is then rebuilt).
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await reserved(quick, show, token)).toContain(seatId)
      expect((await dates(quick, eventId, token))[show]).toBe(before - 1)
    } finally {
      await env.db
        .deleteFrom('RESERVATION')
        .where('schedule_id', '=', show)
        .where('seat_id', '=', seatId)
        .execute()
      await quick.close()
    }
  })

  it('the public events list answers from MySQL when Redis is unreachable, as it did before it was cached', async () => {
    const offline = await buildBooking(env, { REDIS_URL: 'redis://127.0.0.1:1' })
    try {
      const response = await get(offline, '/v1/events')
      expect(response.statusCode, response.body).toBe(200)
      expect((response.json() as Array<{ id: number }>).map((e) => e.id)).toEqual(
        expect.arrayContaining([eventId, otherEventId]),
      )
    } finally {
      await offline.close()
    }
  })
})
