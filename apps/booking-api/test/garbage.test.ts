import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, adminAuth, layout, writtenState } from './admin-helpers.js'
import { bearer, buildBooking, expectInvariants, readyTokens } from './helpers.js'

// Whatever a client sends, the answer is never a 5xx: bad input is a 4xx problem+json.
const env = useTestEnv()
let gateway: App
let booking: App
let readyToken: string

const ids = [
  '0',
  '-1',
  '1.5',
  'abc',
  '9'.repeat(30),
  '%00',
  '%E0%A4%A',
  'a'.repeat(300),
  '1e3',
  'null',
  '👍',
  '1;DROP',
]
const bodies: unknown[] = [
  undefined,
  null,
  [],
  {},
  'text',
  42,
  { accountId: null, eventId: null },
  { accountId: ['a'], eventId: [1] },
  { accountId: 'x', eventId: 1e20 },
  { accountId: 'x', eventId: -5 },
  { accountId: "' OR 1=1 --", eventId: 1 },
  { email: 'a@b.c', name: { $gt: '' } },
  { email: 'a'.repeat(5000), name: 'n' },
  { amount: 1e300 },
  { amount: -1e300 },
  { amount: '1000' },
  { amount: 2_147_483_648 },
  { scheduleId: 1, seatId: 1e20 },
  { scheduleId: '1; DELETE FROM ACCOUNT', seatId: 1 },
  { scheduleId: 1, seatId: 1, __proto__: { admin: true } },
  { scheduleId: { $ne: 0 }, seatId: 1 },
  { scheduleId: 1, seatIds: [] },
  { scheduleId: 1, seatIds: [1, 1] },
  { scheduleId: 1, seatId: 1, seatIds: [2] },
  { scheduleId: 1, seatIds: [1, null, 'x'] },
  { scheduleId: 1, seatIds: Array.from({ length: 101 }, (_, i) => i + 1) },
  { reason: { $gt: '' } },
]

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 2, { prefix: 'g', balance: 500_000 })
  readyToken = (await readyTokens(env, 1, ['g-1'])).get('g-1') as string
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { LOG_LEVEL: 'silent' })),
    logger: false,
    workers: false,
  })
  booking = await buildBooking(env, { ADMIN_API_KEYS: ADMIN_KEY })
}, 60_000)
afterAll(async () => {
  await gateway?.close()
  await booking?.close()
})

const gatewayRoutes = (id: string): Array<[string, string]> => [
  ['POST', '/v1/queue/tokens'],
  ['GET', `/v1/queue/tokens/${id}`],
  ['DELETE', `/v1/queue/tokens/${id}`],
  ['GET', `/v1/queue/tokens/${id}/stream`],
]
const bookingRoutes = (id: string): Array<[string, string]> => [
  ['POST', '/v1/accounts'],
  ['GET', `/v1/accounts/${id}/balance`],
  ['POST', `/v1/accounts/${id}/balance/charge`],
  ['GET', `/v1/events/${id}/schedules`],
  ['GET', `/v1/schedules/${id}/seats`],
  ['POST', '/v1/reservations'],
  ['GET', `/v1/accounts/${id}/reservations`],
]

describe('garbage in, 4xx out', () => {
  it('no combination of odd ids, bodies and tokens produces a 5xx or a non-problem error', async () => {
    const authorizations = [
      undefined,
      'Bearer',
      'Bearer ',
      `Bearer ${readyToken}`,
      'Bearer 1.x',
      'Basic abc',
      'Bearer a b',
    ]
    let checked = 0
    for (const [app, routes] of [
      [gateway, gatewayRoutes],
      [booking, bookingRoutes],
    ] as const) {
      for (const id of ids) {
        for (const [method, url] of routes(id)) {
          const cases = method === 'POST' ? bodies : [undefined]
          for (const body of cases) {
            for (const authorization of authorizations) {
              const response = await app.inject({
                method: method as 'GET' | 'POST' | 'DELETE',
                url,
                headers: {
                  ...(authorization ? { authorization } : {}),
                  ...(body === undefined ? {} : { 'content-type': 'application/json' }),
                  'idempotency-key': id.slice(0, 100),
                },
                ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
              })
              checked += 1
              const where = `${method} ${url} ${JSON.stringify(body)} ${authorization}`
              expect(response.statusCode, where).toBeLessThan(500)
              if (response.statusCode >= 400) {
                expect(response.headers['content-type'], where).toContain('application/problem+json')
                expect(response.body, where).not.toMatch(/at \S+\.(ts|js):\d+|SQL|ER_/)
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5_000)
    await expectInvariants(env)
  }, 120_000)
})

describe('garbage in, 4xx out: orders of several seats', () => {
  it('too many seats, duplicates, none, both seatId and seatIds, unknown seats: 4xx problem+json, nothing written', async () => {
    const show = await env.db
      .selectFrom('EVENT_SCHEDULE')
      .select('id')
      .where('event_id', '=', 1)
      .orderBy('id')
      .executeTakeFirstOrThrow()
    const event = await env.db
      .selectFrom('EVENT')
      .select('max_seats_per_order')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow()
    const seats = (await env.db.selectFrom('VENUE_SEAT').select('id').orderBy('id').execute()).map(
      (s) => s.id,
    )
    const limit = event.max_seats_per_order
    // A fresh fan: g-1's token may have bought a seat in the test above (a body that was valid after all).
    await insertAccounts(env.db, 1, { prefix: 'orders', balance: 5_000_000 })
    const token = (await readyTokens(env, 1, ['orders-1'])).get('orders-1') as string
    const counts = async () => ({
      reservations: (await env.db.selectFrom('RESERVATION').select('id').execute()).length,
      ledger: (await env.db.selectFrom('BALANCE_HISTORY').select('id').execute()).length,
      balance: (
        await env.db
          .selectFrom('ACCOUNT')
          .select('amount')
          .where('id', '=', 'orders-1')
          .executeTakeFirstOrThrow()
      ).amount,
    })
    const before = await counts()
    const scheduleId = show.id
    const cases: Array<[unknown, number, string]> = [
      [{ scheduleId, seatIds: seats.slice(0, limit + 1) }, 409, 'ORDER_TOO_LARGE'],
      [{ scheduleId, seatIds: [seats[0], seats[1], seats[0]] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: [] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatId: seats[0], seatIds: [seats[1]] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatId: seats[0], seatIds: [seats[0]] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: seats[0] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: [String(seats[0])] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: [seats[0], 0] }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: Array.from({ length: 101 }, (_, i) => i + 1) }, 400, 'VALIDATION_FAILED'],
      [{ scheduleId, seatIds: [seats[0], 999_999] }, 404, 'SEAT_NOT_FOUND'],
      [{ scheduleId: 999_999, seatIds: [seats[0]] }, 404, 'SCHEDULE_NOT_FOUND'],
    ]
    for (const [body, status, code] of cases) {
      const response = await booking.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: { authorization: `Bearer ${token}` },
        payload: body as object,
      })
      const where = JSON.stringify(body)
      expect(response.statusCode, where).toBe(status)
      expect(response.headers['content-type'], where).toContain('application/problem+json')
      expect(response.json().code, where).toBe(code)
      if (where.includes('"seatId"') && where.includes('"seatIds"'))
        expect(response.json().detail).toMatch(/not both/)
    }
    expect(await counts()).toEqual(before)
    // Still READY: a sensible order with the same token goes through.
    const ok = await booking.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: { authorization: `Bearer ${token}` },
      payload: { scheduleId, seatIds: seats.slice(-limit) },
    })
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json().seats).toHaveLength(limit)
    await expectInvariants(env)
  })
})

const adminRoutes = (id: string): Array<[string, string]> => [
  ['POST', '/v1/admin/venues'],
  ['GET', `/v1/admin/venues/${id}`],
  ['POST', '/v1/admin/events'],
  ['GET', `/v1/admin/events/${id}`],
  ['PATCH', `/v1/admin/events/${id}`],
  ['POST', `/v1/admin/events/${id}/schedules`],
  ['DELETE', `/v1/admin/schedules/${id}`],
  ['GET', `/v1/admin/events/${id}/queue`],
  ['PATCH', `/v1/admin/events/${id}/queue`],
  ['POST', `/v1/admin/reservations/${id}/refund`],
]

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function expectRefused(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  where: string,
) {
  expect(response.statusCode, where).toBeGreaterThanOrEqual(400)
  expect(response.statusCode, where).toBeLessThan(500)
  expect(response.headers['content-type'], where).toContain('application/problem+json')
  expect(response.body, where).not.toMatch(/at \S+\.(ts|js):\d+|SQL|ER_/)
}

describe('garbage in, 4xx out: the operator API', () => {
  it('odd ids, bodies and keys on every admin route: never a 5xx, always problem+json, nothing written', async () => {
    const before = await writtenState(env)
    let checked = 0
    for (const id of ids) {
      for (const [method, url] of adminRoutes(id)) {
        const cases = method === 'POST' || method === 'PATCH' ? bodies : [undefined]
        for (const body of cases) {
          for (const authorization of [
            undefined,
            'Bearer wrong-key-wrong-key-wrong',
            `Bearer ${ADMIN_KEY}`,
          ]) {
            const response = await booking.inject({
              method: method as Method,
              url,
              headers: {
                ...(authorization ? { authorization } : {}),
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
            })
            checked += 1
            expectRefused(response, `${method} ${url} ${JSON.stringify(body)} ${authorization}`)
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(3_000)
    expect(await writtenState(env)).toEqual(before)
  }, 120_000)

  it('near misses with the right key on real ids: every one refused with a 4xx, nothing written', async () => {
    const key = adminAuth(ADMIN_KEY)
    const venue = (
      await booking.inject({
        method: 'POST',
        url: '/v1/admin/venues',
        headers: key,
        payload: { name: 'Garbage Hall', timeZone: 'Asia/Seoul', seats: layout(4, 2) },
      })
    ).json()
    const event = (
      await booking.inject({
        method: 'POST',
        url: '/v1/admin/events',
        headers: key,
        payload: { title: 'Garbage Night', venueId: venue.id, prices: { VIP: 10, R: 5 } },
      })
    ).json()
    const show = (
      await booking.inject({
        method: 'POST',
        url: `/v1/admin/events/${event.id}/schedules`,
        headers: key,
        payload: { date: '2031-05-05', startTime: '19:00:00' },
      })
    ).json()
    // A show with a sale, which cannot be removed.
    const sold = (
      await booking.inject({
        method: 'POST',
        url: `/v1/admin/events/${event.id}/schedules`,
        headers: key,
        payload: { date: '2031-05-06', startTime: '19:00:00' },
      })
    ).json()
    // Two seats of it bought through the fan API; the first already refunded with an
    // Idempotency-Key that the near misses below reuse for the second.
    const buyer = (await readyTokens(env, event.id, ['g-2'])).get('g-2') as string
    const order = await booking.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(buyer),
      payload: { scheduleId: sold.scheduleId, seatIds: [venue.seats[0].seatId, venue.seats[1].seatId] },
    })
    expect(order.statusCode, order.body).toBe(201)
    const [refunded, kept] = order.json().seats.map((s: { reservationId: number }) => s.reservationId)
    const refund = await booking.inject({
      method: 'POST',
      url: `/v1/admin/reservations/${refunded}/refund`,
      headers: { ...key, 'idempotency-key': 'garbage-refund' },
      payload: { reason: 'first' },
    })
    expect(refund.statusCode, refund.body).toBe(200)
    // Queue settings of its own, so the event's sale-settings hash in Redis has values to keep.
    const queue = await booking.inject({
      method: 'PATCH',
      url: `/v1/admin/events/${event.id}/queue`,
      headers: key,
      payload: { maxActive: 7, admitPerSecond: 3, paused: true },
    })
    expect(queue.statusCode, queue.body).toBe(200)
    const before = await writtenState(env)
    expect(before.saleSettings[event.id]).toMatchObject({ maxActive: '7', admitPerSecond: '3', paused: '1' })
    expect(before.RESERVATION.filter((r) => r.schedule_id === sold.scheduleId)).toHaveLength(2)

    const seat = { seatNumber: '1', area: 'A', seatType: 'R' }
    const venueBody = { name: 'Near Miss Hall', timeZone: 'Asia/Seoul', seats: [seat] }
    const eventBody = { title: 'Near Miss', venueId: venue.id, prices: { VIP: 1, R: 1 } }
    const showBody = { date: '2031-06-01', startTime: '19:00:00' }
    const venues: unknown[] = [
      { ...venueBody, name: 'Garbage Hall' },
      { ...venueBody, name: 'garbage hall' },
      { ...venueBody, name: '' },
      { ...venueBody, name: '   ' },
      { ...venueBody, name: 'x'.repeat(256) },
      { ...venueBody, address: 'x'.repeat(256) },
      { ...venueBody, timeZone: 'Mars/Olympus' },
      { ...venueBody, timeZone: '+09:00' },
      { ...venueBody, timeZone: 'UTC+9' },
      { ...venueBody, timeZone: 'Asia/Seoul\u0000' },
      { ...venueBody, timeZone: '../../etc/passwd' },
      { ...venueBody, timeZone: 'x'.repeat(5000) },
      { ...venueBody, timeZone: 9 },
      { ...venueBody, timeZone: null },
      { ...venueBody, seats: [] },
      { ...venueBody, seats: 'all' },
      { ...venueBody, seats: [null] },
      { ...venueBody, seats: [seat, seat] },
      { ...venueBody, seats: [seat, { ...seat, seatNumber: '01' }, { ...seat, seatNumber: '1' }] },
      { ...venueBody, seats: [{ ...seat, seatNumber: '' }] },
      { ...venueBody, seats: [{ ...seat, seatNumber: 'x'.repeat(17) }] },
      { ...venueBody, seats: [{ ...seat, seatNumber: "1' OR '1'='1" }] },
      { ...venueBody, seats: [{ ...seat, area: '' }] },
      { ...venueBody, seats: [{ ...seat, area: 'x'.repeat(65) }] },
      { ...venueBody, seats: [{ ...seat, seatType: 'VIP PLUS' }] },
      { ...venueBody, seats: [{ ...seat, seatType: 'x'.repeat(33) }] },
      {
        ...venueBody,
        seats: [
          { ...seat, seatType: 'R' },
          { ...seat, seatNumber: '2', seatType: 'r' },
        ],
      },
      { ...venueBody, seats: [{ ...seat, extra: 1 }] },
      { ...venueBody, seats: layout(5_001) },
      { ...venueBody, capacity: 10 },
    ]
    const events: unknown[] = [
      { ...eventBody, venueId: 0 },
      { ...eventBody, venueId: '1' },
      { ...eventBody, venueId: 999_999 },
      { ...eventBody, venueId: 1e20 },
      { ...eventBody, prices: {} },
      { ...eventBody, prices: { VIP: 1 } },
      { ...eventBody, prices: { VIP: 1, R: 1, S: 1 } },
      { ...eventBody, prices: { vip: 1, R: 1 } },
      { ...eventBody, prices: { VIP: '1', R: 1 } },
      { ...eventBody, prices: { VIP: -1, R: 1 } },
      { ...eventBody, prices: { VIP: 1e300, R: 1 } },
      { ...eventBody, prices: { VIP: 10_000_001, R: 1 } },
      { ...eventBody, prices: { VIP: null, R: 1 } },
      { ...eventBody, prices: { 'VIP PLUS': 1, R: 1 } },
      { ...eventBody, prices: [1, 2] },
      { ...eventBody, title: '' },
      { ...eventBody, title: 'x'.repeat(256) },
      { ...eventBody, description: 'x'.repeat(10_001) },
      { ...eventBody, sale: { opensAt: 'tomorrow' } },
      { ...eventBody, sale: { opensAt: '2031-13-01T00:00:00Z' } },
      { ...eventBody, sale: { opensAt: '2031-01-01T00:00:00' } },
      { ...eventBody, sale: { opensAt: '1970-01-01T00:00:00Z' } },
      { ...eventBody, sale: { opensAt: '9999-12-31T23:59:59Z' } },
      { ...eventBody, sale: { opensAt: '2031-01-02T00:00:00Z', closesAt: '2031-01-01T00:00:00Z' } },
      { ...eventBody, sale: { opensAt: '2031-01-01T00:00:00Z', closesAt: '2031-01-01T00:00:00Z' } },
      { ...eventBody, sale: { preQueueMinutes: -1 } },
      { ...eventBody, sale: { preQueueMinutes: 1e9 } },
      { ...eventBody, sale: { preQueueMinutes: 1.5 } },
      { ...eventBody, sale: { state: 'OPEN' } },
      { ...eventBody, queue: { maxActive: 0 } },
      { ...eventBody, queue: { admitPerSecond: 100_001 } },
      { ...eventBody, queue: { activeTtlSeconds: '300' } },
      { ...eventBody, queue: { paused: true } },
      { ...eventBody, limits: { maxSeatsPerOrder: 0 } },
      { ...eventBody, limits: { maxSeatsPerOrder: 101 } },
      { ...eventBody, limits: { maxSeatsPerOrder: 9 } },
      { ...eventBody, limits: { maxSeatsPerOrder: 3, maxSeatsPerAccount: 2 } },
      { ...eventBody, id: 1 },
    ]
    const patches: unknown[] = [
      { venueId: venue.id },
      { title: '' },
      { title: null },
      { prices: { GOLD: 1 } },
      { prices: { R: -5 } },
      { prices: {} },
      { limits: { maxSeatsPerOrder: 9 } },
      { limits: { maxSeatsPerAccount: 3 } },
      { sale: { opensAt: '2031-01-02T00:00:00Z', closesAt: '2031-01-01T00:00:00Z' } },
      { sale: { closesAt: 'never' } },
      { queue: { paused: true } },
      { queue: { maxActive: -1 } },
      { startDate: '2031-01-01' },
      [],
      null,
      'rename',
    ]
    const queuePatches: unknown[] = [
      {},
      { maxActive: 0 },
      { maxActive: 1_000_001 },
      { admitPerSecond: '40' },
      { admitPerSecond: 1.5 },
      { activeTtlSeconds: -1 },
      { waitingIdleSeconds: 86_401 },
      { paused: 'yes' },
      { paused: true, extra: 1 },
      { state: 'OPEN' },
      [],
      null,
      'pause',
    ]
    const shows: unknown[] = [
      { date: '2031-05-05', startTime: '19:00:00' },
      { ...showBody, date: '2031-02-30' },
      { ...showBody, date: '2031-13-01' },
      { ...showBody, date: '2031-1-1' },
      { ...showBody, date: '1999-12-31' },
      { ...showBody, date: '0000-00-00' },
      { ...showBody, date: '10000-01-01' },
      { ...showBody, startTime: '24:00:00' },
      { ...showBody, startTime: '19:60:00' },
      { ...showBody, startTime: '19:00' },
      { ...showBody, startTime: '7pm' },
      { ...showBody, endTime: '25:00:00' },
      { ...showBody, date: null },
      { ...showBody, eventId: event.id },
      { date: '2031-06-01' },
      {},
    ]
    const requests: Array<[Method, string, unknown, Record<string, string>?]> = [
      ...venues.map((body): [Method, string, unknown] => ['POST', '/v1/admin/venues', body]),
      ...events.map((body): [Method, string, unknown] => ['POST', '/v1/admin/events', body]),
      ...patches.map((body): [Method, string, unknown] => ['PATCH', `/v1/admin/events/${event.id}`, body]),
      ['PATCH', '/v1/admin/events/999999', { title: 'Nobody' }],
      ...queuePatches.map((body): [Method, string, unknown] => [
        'PATCH',
        `/v1/admin/events/${event.id}/queue`,
        body,
      ]),
      ['PATCH', '/v1/admin/events/999999/queue', { paused: true }],
      ['GET', '/v1/admin/events/999999/queue', undefined],
      ...shows.map((body): [Method, string, unknown] => [
        'POST',
        `/v1/admin/events/${event.id}/schedules`,
        body,
      ]),
      ['POST', '/v1/admin/events/999999/schedules', showBody],
      ['DELETE', `/v1/admin/schedules/${sold.scheduleId}`, undefined],
      ['DELETE', '/v1/admin/schedules/999999', undefined],
      ['GET', '/v1/admin/venues/999999', undefined],
      ['GET', '/v1/admin/events/999999', undefined],
      ['POST', '/v1/admin/reservations/999999/refund', { reason: 'no such sale' }],
      ['POST', `/v1/admin/reservations/${kept}/refund`, {}],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: '' }],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: '   ' }],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: 'x'.repeat(501) }],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: 'ok', status: 'SOLD' }],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: 'ok', amount: 1_000_000 }],
      [
        'POST',
        `/v1/admin/reservations/${kept}/refund`,
        { reason: 'ok' },
        { 'idempotency-key': 'garbage-refund' },
      ],
      [
        'POST',
        `/v1/admin/reservations/${kept}/refund`,
        { reason: 'ok' },
        { 'idempotency-key': 'x'.repeat(129) },
      ],
      ['POST', `/v1/admin/reservations/${kept}/refund`, { reason: 'ok' }, { 'idempotency-key': 'two words' }],
      ['POST', `/v1/admin/reservations/${kept}x/refund`, { reason: 'ok' }],
      ['POST', '/v1/admin/reservations/0/refund', { reason: 'ok' }],
    ]
    for (const [method, url, body, headers] of requests) {
      const response = await booking.inject({
        method,
        url,
        headers: {
          ...key,
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      })
      expectRefused(
        response,
        `${method} ${url} ${JSON.stringify(body)?.slice(0, 200)} ${JSON.stringify(headers)}`,
      )
    }
    // Bodies past the limits: 1 MiB for a venue layout, 16 KiB elsewhere.
    const oversized: Array<[Method, string, string]> = [
      ['POST', '/v1/admin/venues', JSON.stringify({ ...venueBody, name: 'x'.repeat(1_100_000) })],
      ['POST', '/v1/admin/events', JSON.stringify({ ...eventBody, description: 'x'.repeat(20_000) })],
      ['PATCH', `/v1/admin/events/${event.id}`, JSON.stringify({ description: 'x'.repeat(20_000) })],
    ]
    for (const [method, url, payload] of oversized) {
      const response = await booking.inject({
        method,
        url,
        headers: { ...key, 'content-type': 'application/json' },
        payload,
      })
      expect(response.statusCode, url).toBe(413)
      expectRefused(response, url)
    }
    expect(requests.length).toBeGreaterThan(100)
    expect(await writtenState(env)).toEqual(before)
    // The show with a sale and the one without are both still there.
    expect(
      await env.db
        .selectFrom('EVENT_SCHEDULE')
        .select('id')
        .where('event_id', '=', event.id)
        .orderBy('id')
        .execute(),
    ).toEqual([{ id: show.scheduleId }, { id: sold.scheduleId }])
  })
})
