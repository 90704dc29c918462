import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import type { App } from '@concert/http'
import { appEnv, insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBookingApp } from '../src/app.js'
import { loadBookingConfig } from '../src/config.js'
import {
  ADMIN_KEY,
  addShow,
  admin,
  buildAdminBooking,
  createEvent,
  createVenue,
  layout,
  OTHER_ADMIN_KEY,
  writtenState,
} from './admin-helpers.js'
import { bearer, buildBooking, readyTokens } from './helpers.js'

const env = useTestEnv()
let app: App

const WRONG_KEY = 'wrong-admin-key-00000000000000000'
const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12)

beforeAll(async () => {
  app = await buildAdminBooking(env)
})
afterAll(async () => {
  await app?.close()
})

/** Every admin route with a body that would be accepted, so only the key decides. */
function everyRoute(ids: { venueId: number; eventId: number; scheduleId: number; reservationId: number }) {
  return [
    ['POST', '/v1/admin/venues', { name: 'Refused Hall', timeZone: 'UTC', seats: layout(2) }],
    ['GET', `/v1/admin/venues/${ids.venueId}`, undefined],
    ['POST', '/v1/admin/events', { title: 'Refused', venueId: ids.venueId, prices: { VIP: 1, R: 1 } }],
    ['GET', `/v1/admin/events/${ids.eventId}`, undefined],
    ['PATCH', `/v1/admin/events/${ids.eventId}`, { title: 'Refused rename' }],
    ['POST', `/v1/admin/events/${ids.eventId}/schedules`, { date: '2031-01-01', startTime: '19:00:00' }],
    ['DELETE', `/v1/admin/schedules/${ids.scheduleId}`, undefined],
    ['GET', `/v1/admin/events/${ids.eventId}/queue`, undefined],
    ['PATCH', `/v1/admin/events/${ids.eventId}/queue`, { paused: true, maxActive: 1 }],
    ['POST', `/v1/admin/reservations/${ids.reservationId}/refund`, { reason: 'Refused refund' }],
  ] as const
}

let fans = 0
/** One seat of the show bought through the fan API by a fresh fan: a sale an operator could refund. */
async function sellOne(booking: App, eventId: number, scheduleId: number, seatId: number): Promise<number> {
  fans += 1
  const [fan] = await insertAccounts(env.db, 1, { prefix: `auth-buyer-${fans}`, balance: 1_000_000 })
  const token = (await readyTokens(env, eventId, [fan as string])).get(fan as string) as string
  const sale = await booking.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId, seatId },
  })
  expect(sale.statusCode, sale.body).toBe(201)
  return sale.json().reservationId
}

/** A venue, an event, a show with no sale (removable) and one with a sale (refundable). */
async function someCatalogue(name: string) {
  const venue = await createVenue(app, name, { seats: 6 })
  const eventId = await createEvent(app, venue.id, `${name} event`)
  const scheduleId = await addShow(app, eventId, { date: '2031-06-01', startTime: '20:00:00' })
  const soldShow = await addShow(app, eventId, { date: '2031-06-02', startTime: '20:00:00' })
  const reservationId = await sellOne(app, eventId, soldShow, venue.seats[0]?.seatId as number)
  return { venueId: venue.id, eventId, scheduleId, reservationId }
}

describe('admin key check', () => {
  it('no key, a wrong key or a malformed header: 401 ADMIN_UNAUTHORIZED on every route, nothing written', async () => {
    const ids = await someCatalogue('Auth Hall')
    const before = await writtenState(env)
    const headers: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${WRONG_KEY}` },
      { authorization: `Bearer ${ADMIN_KEY}x` },
      { authorization: `Bearer ${ADMIN_KEY.slice(0, -1)}` },
      { authorization: ADMIN_KEY },
      { authorization: `Basic ${ADMIN_KEY}` },
      { authorization: `Bearer ${ADMIN_KEY} ${ADMIN_KEY}` },
      { authorization: 'Bearer' },
    ]
    for (const [method, url, body] of everyRoute(ids)) {
      for (const header of headers) {
        const response = await app.inject({
          method,
          url,
          headers: header,
          ...(body === undefined ? {} : { payload: body }),
        })
        const where = `${method} ${url} ${JSON.stringify(header)}`
        expect(response.statusCode, where).toBe(401)
        expect(response.headers['content-type'], where).toContain('application/problem+json')
        expect(response.headers['www-authenticate'], where).toBe('Bearer realm="admin"')
        expect(response.json(), where).toMatchObject({ status: 401, code: 'ADMIN_UNAUTHORIZED' })
      }
    }
    expect(await writtenState(env)).toEqual(before)
  })

  it('a queue token is not an admin key', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'auth-fan' })
    const ids = await someCatalogue('Token Hall')
    const token = (await readyTokens(env, ids.eventId, [fan as string])).get(fan as string) as string
    const response = await app.inject({
      method: 'GET',
      url: `/v1/admin/events/${ids.eventId}`,
      headers: bearer(token),
    })
    expect(response.json()).toMatchObject({ status: 401, code: 'ADMIN_UNAUTHORIZED' })
  })

  it('both keys of a rotation open the API, each recorded by its own key id', async () => {
    const first = await admin(app, 'POST', '/v1/admin/venues', {
      name: 'Rotation One',
      timeZone: 'Asia/Seoul',
      seats: layout(3),
    })
    const second = await admin(
      app,
      'POST',
      '/v1/admin/venues',
      { name: 'Rotation Two', timeZone: 'Asia/Seoul', seats: layout(3) },
      OTHER_ADMIN_KEY,
    )
    expect([first.status, second.status]).toEqual([201, 201])
    expect(
      (await admin(app, 'GET', `/v1/admin/venues/${first.body.id}`, undefined, OTHER_ADMIN_KEY)).status,
    ).toBe(200)
    const rows = await env.db
      .selectFrom('ADMIN_AUDIT')
      .select(['key_id', 'target_id'])
      .where('target_id', 'in', [first.body.id, second.body.id])
      .where('route', '=', '/v1/admin/venues')
      .orderBy('id')
      .execute()
    expect(rows).toEqual([
      { key_id: keyId(ADMIN_KEY), target_id: first.body.id },
      { key_id: keyId(OTHER_ADMIN_KEY), target_id: second.body.id },
    ])
    expect(keyId(ADMIN_KEY)).not.toBe(keyId(OTHER_ADMIN_KEY))
  })

  it('with no ADMIN_API_KEYS every admin route answers 503 ADMIN_DISABLED, whatever the key', async () => {
    const ids = await someCatalogue('Disabled Hall')
    const off = await buildBooking(env)
    try {
      const before = await writtenState(env)
      for (const [method, url, body] of everyRoute(ids)) {
        for (const headers of [{}, { authorization: `Bearer ${ADMIN_KEY}` }]) {
          const response = await off.inject({
            method,
            url,
            headers,
            ...(body === undefined ? {} : { payload: body }),
          })
          expect(response.statusCode, `${method} ${url}`).toBe(503)
          expect(response.headers['content-type']).toContain('application/problem+json')
          expect(response.json()).toMatchObject({ status: 503, code: 'ADMIN_DISABLED' })
        }
      }
      expect(await writtenState(env)).toEqual(before)
      // The fan API of that copy is unaffected.
      expect((await off.inject({ method: 'GET', url: '/v1/events' })).statusCode).toBe(200)
    } finally {
      await off.close()
    }
  })
})

describe('ADMIN_AUDIT', () => {
  it('has one row for every admin write (key id, method, route, target, body, time) and none for refused ones', async () => {
    const start = await env.db
      .selectFrom('ADMIN_AUDIT')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirstOrThrow()
    const since = Number(start.id ?? 0)
    const before = Date.now()

    const venueBody = { name: 'Audit Hall', timeZone: 'Europe/Paris', seats: layout(4, 2) }
    const venue = await admin(app, 'POST', '/v1/admin/venues', venueBody)
    const eventBody = { title: 'Audit Night', venueId: venue.body.id, prices: { VIP: 10_000, R: 5_000 } }
    const event = await admin(app, 'POST', '/v1/admin/events', eventBody)
    const eventId = event.body.id as number
    const patchBody = { prices: { R: 6_000 }, limits: { maxSeatsPerOrder: 2 } }
    const patched = await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, patchBody, OTHER_ADMIN_KEY)
    const showBody = { date: '2031-03-01', startTime: '18:30:00', endTime: '21:00:00' }
    const show = await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, showBody)
    const removed = await admin(app, 'DELETE', `/v1/admin/schedules/${show.body.scheduleId}`)
    // A show with a sale (the fan API's purchase is no admin write), then a live queue change
    // and the sale's refund, both admin writes.
    const soldShowBody = { date: '2031-03-02', startTime: '18:30:00' }
    const soldShow = await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, soldShowBody)
    const sold = await sellOne(app, eventId, soldShow.body.scheduleId, venue.body.seats[0].seatId)
    const queueBody = { maxActive: 50, admitPerSecond: 20, paused: true }
    const queued = await admin(app, 'PATCH', `/v1/admin/events/${eventId}/queue`, queueBody, OTHER_ADMIN_KEY)
    const refundBody = { reason: 'Double booking' }
    const refunded = await admin(app, 'POST', `/v1/admin/reservations/${sold}/refund`, refundBody)
    expect([
      venue.status,
      event.status,
      patched.status,
      show.status,
      removed.status,
      soldShow.status,
      queued.status,
      refunded.status,
    ]).toEqual([201, 201, 200, 201, 204, 201, 200, 200])

    // Refused writes: bad key, bad body, conflicts, unknown ids, a price the venue has no seats for.
    const refused = [
      await admin(app, 'POST', '/v1/admin/venues', venueBody, WRONG_KEY),
      await admin(app, 'POST', '/v1/admin/venues', venueBody, null),
      await admin(app, 'POST', '/v1/admin/venues', venueBody),
      await admin(app, 'POST', '/v1/admin/venues', { ...venueBody, name: 'Bad Zone', timeZone: 'Mars/Base' }),
      await admin(app, 'POST', '/v1/admin/events', { ...eventBody, prices: { VIP: 1 } }),
      await admin(app, 'POST', '/v1/admin/events', { ...eventBody, venueId: 999_999 }),
      await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, { prices: { GOLD: 1 } }),
      await admin(app, 'PATCH', '/v1/admin/events/999999', { title: 'Nobody' }),
      await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, { title: 'x' }, WRONG_KEY),
      await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, {
        date: '2031-02-30',
        startTime: '19:00:00',
      }),
      await admin(app, 'DELETE', `/v1/admin/schedules/${show.body.scheduleId}`),
      await admin(app, 'PATCH', `/v1/admin/events/${eventId}/queue`, { paused: false }, WRONG_KEY),
      await admin(app, 'PATCH', `/v1/admin/events/${eventId}/queue`, { maxActive: 0 }),
      await admin(app, 'PATCH', '/v1/admin/events/999999/queue', { paused: false }),
      await admin(app, 'POST', `/v1/admin/reservations/${sold}/refund`, refundBody, null),
      await admin(app, 'POST', `/v1/admin/reservations/${sold}/refund`, { reason: ' ' }),
      await admin(app, 'POST', '/v1/admin/reservations/999999/refund', refundBody),
    ]
    expect(refused.map((r) => r.status)).toEqual([
      401, 401, 409, 400, 422, 404, 422, 404, 401, 400, 404, 401, 400, 404, 401, 400, 404,
    ])
    // Refunding the same sale again moves nothing, so it writes no audit row either.
    const replay = await admin(app, 'POST', `/v1/admin/reservations/${sold}/refund`, refundBody)
    expect(replay.status).toBe(200)
    expect(replay.headers['idempotent-replayed']).toBe('true')

    const rows = await env.db
      .selectFrom('ADMIN_AUDIT')
      .selectAll()
      .where('id', '>', since)
      .orderBy('id')
      .execute()
    expect(rows.map((row) => ({ ...row, body: row.body === null ? null : JSON.parse(row.body) }))).toEqual([
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'POST',
        route: '/v1/admin/venues',
        target_id: venue.body.id,
        body: venueBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'POST',
        route: '/v1/admin/events',
        target_id: eventId,
        body: eventBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(OTHER_ADMIN_KEY),
        method: 'PATCH',
        route: '/v1/admin/events/:eventId',
        target_id: eventId,
        body: patchBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'POST',
        route: '/v1/admin/events/:eventId/schedules',
        target_id: show.body.scheduleId,
        body: showBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'DELETE',
        route: '/v1/admin/schedules/:scheduleId',
        target_id: show.body.scheduleId,
        body: null,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'POST',
        route: '/v1/admin/events/:eventId/schedules',
        target_id: soldShow.body.scheduleId,
        body: soldShowBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(OTHER_ADMIN_KEY),
        method: 'PATCH',
        route: '/v1/admin/events/:eventId/queue',
        target_id: eventId,
        body: queueBody,
        created_at: expect.any(Date),
      },
      {
        id: expect.any(Number),
        key_id: keyId(ADMIN_KEY),
        method: 'POST',
        route: '/v1/admin/reservations/:reservationId/refund',
        target_id: sold,
        body: refundBody,
        created_at: expect.any(Date),
      },
    ])
    for (const row of rows) {
      expect(row.created_at.getTime()).toBeGreaterThanOrEqual(before - 1_000)
      expect(row.created_at.getTime()).toBeLessThanOrEqual(Date.now() + 1_000)
      expect(JSON.stringify(row)).not.toContain(ADMIN_KEY)
      expect(JSON.stringify(row)).not.toContain(OTHER_ADMIN_KEY)
    }
  })
})

describe('logs', () => {
  it('never contain an admin key, right or wrong, whatever the request and however it ends', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    const config = (overrides: Record<string, string> = {}) =>
      loadBookingConfig(
        appEnv(env, { ADMIN_API_KEYS: `${ADMIN_KEY},${OTHER_ADMIN_KEY}`, DB_POOL_SIZE: '2', ...overrides }),
      )
    const logged = await buildBookingApp({ config: config(), logger: { level: 'trace', stream } })
    // And one whose MySQL is gone: its 503s log the error they caught.
    const broken = await buildBookingApp({
      config: config({ MYSQL_URL: 'mysql://root@127.0.0.1:1/nowhere' }),
      logger: { level: 'trace', stream },
    })
    // A sale to refund (made through the quiet app: only the requests below are logged).
    const ids = await someCatalogue('Log Sale Hall')
    try {
      await logged.ready()
      await broken.ready()
      const venue = await admin(logged, 'POST', '/v1/admin/venues', {
        name: 'Log Hall',
        timeZone: 'Asia/Seoul',
        seats: layout(3),
      })
      expect(venue.status).toBe(201)
      const requests: Array<Promise<unknown>> = []
      for (const key of [ADMIN_KEY, OTHER_ADMIN_KEY, WRONG_KEY, `${ADMIN_KEY}${ADMIN_KEY}`]) {
        requests.push(
          admin(logged, 'GET', `/v1/admin/venues/${venue.body.id}`, undefined, key),
          admin(logged, 'GET', '/v1/admin/venues/999999', undefined, key),
          admin(
            logged,
            'POST',
            '/v1/admin/events',
            { title: 'Log', venueId: venue.body.id, prices: {} },
            key,
          ),
          admin(logged, 'PATCH', '/v1/admin/events/999999', { title: 'Log' }, key),
          admin(logged, 'DELETE', '/v1/admin/schedules/abc', undefined, key),
          admin(logged, 'GET', '/v1/admin/nowhere', undefined, key),
          admin(logged, 'GET', `/v1/admin/events/${ids.eventId}/queue`, undefined, key),
          admin(logged, 'PATCH', `/v1/admin/events/${ids.eventId}/queue`, { admitPerSecond: 9 }, key),
          admin(logged, 'PATCH', `/v1/admin/events/${ids.eventId}/queue`, { maxActive: -1 }, key),
          admin(logged, 'POST', `/v1/admin/reservations/${ids.reservationId}/refund`, { reason: 'log' }, key),
          admin(logged, 'POST', '/v1/admin/reservations/999999/refund', { reason: 'log' }, key),
          admin(broken, 'GET', '/v1/admin/venues/1', undefined, key),
          admin(broken, 'POST', '/v1/admin/venues', { name: 'X', timeZone: 'UTC', seats: layout(1) }, key),
          admin(broken, 'PATCH', `/v1/admin/events/${ids.eventId}/queue`, { paused: true }, key),
          admin(broken, 'POST', `/v1/admin/reservations/${ids.reservationId}/refund`, { reason: 'x' }, key),
        )
      }
      const answers = (await Promise.all(requests)) as Array<{ status: number }>
      expect(answers.some((a) => a.status === 503)).toBe(true)
      // The queue change and the refund went through, so their success paths were logged too.
      const sale = await env.db
        .selectFrom('RESERVATION')
        .select('status')
        .where('id', '=', ids.reservationId)
        .executeTakeFirstOrThrow()
      expect(sale.status).toBe('REFUNDED')
      expect((await admin(app, 'GET', `/v1/admin/events/${ids.eventId}/queue`)).body.settings).toMatchObject({
        admitPerSecond: 9,
      })
    } finally {
      await logged.close()
      await broken.close()
    }
    // The capture works: every request left its lines, errors included.
    expect(lines.length).toBeGreaterThan(60)
    expect(lines.some((line) => line.includes('/v1/admin/venues/999999'))).toBe(true)
    for (const route of [
      `/v1/admin/events/${ids.eventId}/queue`,
      `/v1/admin/reservations/${ids.reservationId}/refund`,
    ])
      expect(lines.some((line) => line.includes(route))).toBe(true)
    expect(lines.some((line) => line.includes('"level":40') && line.includes('"err"'))).toBe(true)
    for (const secret of [ADMIN_KEY, OTHER_ADMIN_KEY, WRONG_KEY]) {
      expect(lines.filter((line) => line.includes(secret))).toEqual([])
    }
  })
})
