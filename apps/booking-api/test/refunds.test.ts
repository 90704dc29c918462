import type { App } from '@concert/http'
import { accountBalance, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, adminAuth, buildAdminBooking } from './admin-helpers.js'
import { bearer, expectInvariants, readyTokens } from './helpers.js'

// SPEC §7 refund row and §9: a refund gives the money back once and puts the seat back on sale.
const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

const BALANCE = 2_000_000

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  // Pool of 5 connections for 20 parallel refunds.
  app = await buildAdminBooking(env)
  await insertAccounts(env.db, 1, { prefix: 'viewer' })
})
afterAll(async () => {
  await app?.close()
})

const scheduleId = () => catalog.schedules.find((s) => s.event_id === catalog.eventId)?.id as number
const seat = (number: number) => catalog.seats.find((s) => s.seat_number === String(number))?.id as number

async function buy(accountId: string, seatIds: number[]) {
  const token = (await readyTokens(env, catalog.eventId, [accountId])).get(accountId) as string
  const response = await app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId: scheduleId(), seatIds },
  })
  return { response, token }
}

/** Sent at once: inject() alone is lazy and would start only when awaited. */
async function refund(reservationId: number, body: unknown, headers: Record<string, string> = {}) {
  return await app.inject({
    method: 'POST',
    url: `/v1/admin/reservations/${reservationId}/refund`,
    headers: { ...adminAuth(ADMIN_KEY), ...headers },
    payload: body as object,
  })
}

async function seatStatus(seatId: number): Promise<string> {
  const token = (await readyTokens(env, catalog.eventId, ['viewer-1'])).get('viewer-1') as string
  const map = (
    await app.inject({ method: 'GET', url: `/v1/schedules/${scheduleId()}/seats`, headers: bearer(token) })
  ).json()
  return map.seats.find((s: { seatId: number }) => s.seatId === seatId).status
}

/** The dates list's free seats of the show (SOLD rows only count). */
async function availableSeats(): Promise<number> {
  const token = (await readyTokens(env, catalog.eventId, ['viewer-1'])).get('viewer-1') as string
  const dates = (
    await app.inject({
      method: 'GET',
      url: `/v1/events/${catalog.eventId}/schedules`,
      headers: bearer(token),
    })
  ).json()
  return dates.find((d: { scheduleId: number }) => d.scheduleId === scheduleId()).availableSeats
}

const balanceOf = (id: string) => accountBalance(env.db, id)

async function refundRows(reservationId: number) {
  return env.db
    .selectFrom('BALANCE_HISTORY')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .where('type', '=', 'REFUND')
    .execute()
}

async function auditRows(reservationId: number) {
  return env.db
    .selectFrom('ADMIN_AUDIT')
    .selectAll()
    .where('route', '=', '/v1/admin/reservations/:reservationId/refund')
    .where('target_id', '=', reservationId)
    .execute()
}

describe('refunds', () => {
  it('20 parallel refunds with one key, then 20 with different keys: money back once each, seat AVAILABLE, one audit row', async () => {
    const [fan, next] = await insertAccounts(env.db, 2, { prefix: 'fan', balance: BALANCE })
    const { response: sale } = await buy(fan as string, [seat(3), seat(4)])
    expect(sale.statusCode).toBe(201)
    const order = sale.json()
    const [first, second] = order.seats as Array<{ reservationId: number; seatId: number; price: number }>
    if (!first || !second) throw new Error('two seats expected')
    // The seat map is cached now, with both seats sold.
    expect(await seatStatus(first.seatId)).toBe('RESERVED')
    const freeBefore = await availableSeats()

    const sameKey = await Promise.all(
      Array.from({ length: 20 }, () =>
        refund(first.reservationId, { reason: 'duplicate purchase' }, { 'idempotency-key': 'refund-3' }),
      ),
    )
    expect(sameKey.map((r) => r.statusCode)).toEqual(sameKey.map(() => 200))
    expect(new Set(sameKey.map((r) => r.body)).size).toBe(1)
    expect(sameKey.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1)
    const answer = sameKey[0]?.json()
    expect(answer).toMatchObject({
      reservationId: first.reservationId,
      orderId: first.reservationId,
      accountId: fan,
      scheduleId: scheduleId(),
      seatId: first.seatId,
      status: 'REFUNDED',
      refunded: first.price,
      balance: BALANCE - order.total + first.price,
      reason: 'duplicate purchase',
    })
    expect(await balanceOf(fan as string)).toBe(BALANCE - order.total + first.price)
    expect(await refundRows(first.reservationId)).toHaveLength(1)
    expect(await auditRows(first.reservationId)).toHaveLength(1)
    // At once, though the map was cached: the refunded seat is free, its order neighbour still sold.
    expect(await seatStatus(first.seatId)).toBe('AVAILABLE')
    expect(await seatStatus(second.seatId)).toBe('RESERVED')

    const manyKeys = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        refund(second.reservationId, { reason: 'show moved' }, { 'idempotency-key': `desk-${i}` }),
      ),
    )
    expect(manyKeys.map((r) => r.statusCode)).toEqual(manyKeys.map(() => 200))
    expect(new Set(manyKeys.map((r) => r.body)).size).toBe(1)
    expect(await balanceOf(fan as string)).toBe(BALANCE)
    expect(await refundRows(second.reservationId)).toHaveLength(1)
    expect(await auditRows(second.reservationId)).toHaveLength(1)
    expect(await availableSeats()).toBe(freeBefore + 2)
    // Later retries, with a key or without, still answer the same and move nothing.
    const later = await refund(first.reservationId, { reason: 'again' })
    expect(later.statusCode).toBe(200)
    expect(later.headers['idempotent-replayed']).toBe('true')
    expect(later.body).toBe(sameKey[0]?.body)
    expect(await balanceOf(fan as string)).toBe(BALANCE)

    // The fan's list shows both seats REFUNDED, as one order.
    const { token } = await buy(fan as string, [seat(10)])
    const list = (
      await app.inject({ method: 'GET', url: `/v1/accounts/${fan}/reservations`, headers: bearer(token) })
    ).json()
    expect(
      list.map((r: { reservationId: number; orderId: number; status: string; refundedAt: string | null }) => [
        r.reservationId,
        r.orderId,
        r.status,
        r.refundedAt === null,
      ]),
    ).toEqual([
      [first.reservationId, first.reservationId, 'REFUNDED', false],
      [second.reservationId, first.reservationId, 'REFUNDED', false],
      [expect.any(Number), expect.any(Number), 'SOLD', true],
    ])

    // Another fan buys the refunded seat; it can be refunded and sold once more.
    const { response: resale } = await buy(next as string, [first.seatId])
    expect(resale.statusCode, resale.body).toBe(201)
    expect(await seatStatus(first.seatId)).toBe('RESERVED')
    const rows = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'status'])
      .where('schedule_id', '=', scheduleId())
      .where('seat_id', '=', first.seatId)
      .orderBy('id')
      .execute()
    expect(rows).toEqual([
      { account_id: fan, status: 'REFUNDED' },
      { account_id: next, status: 'SOLD' },
    ])
    await expectInvariants(env)
  }, 60_000)

  it('a refund racing purchases of its seat: never a 5xx, the seat sold at most once live, money exact', async () => {
    const fans = await insertAccounts(env.db, 11, { prefix: 'race', balance: BALANCE })
    const [owner, ...buyers] = fans as [string, ...string[]]
    const { response: sale } = await buy(owner, [seat(30)])
    const reservationId = sale.json().reservationId as number
    const tokens = await readyTokens(env, catalog.eventId, buyers)
    const [refunded, ...purchases] = await Promise.all([
      refund(reservationId, { reason: 'race' }),
      ...buyers.map(
        async (id) =>
          await app.inject({
            method: 'POST',
            url: '/v1/reservations',
            headers: bearer(tokens.get(id) as string),
            payload: { scheduleId: scheduleId(), seatIds: [seat(30)] },
          }),
      ),
    ])
    expect(refunded?.statusCode).toBe(200)
    for (const purchase of purchases) expect([201, 409]).toContain(purchase.statusCode)
    expect(purchases.filter((p) => p.statusCode === 201).length).toBeLessThanOrEqual(1)
    const live = await env.db
      .selectFrom('RESERVATION')
      .select('account_id')
      .where('seat_id', '=', seat(30))
      .where('schedule_id', '=', scheduleId())
      .where('status', '=', 'SOLD')
      .execute()
    expect(live.length).toBe(purchases.filter((p) => p.statusCode === 201).length)
    await expectInvariants(env)
  }, 60_000)

  it('refused refunds change nothing: unknown reservation, a key of another refund, bad bodies, no admin key', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'refused', balance: BALANCE })
    const { response } = await buy(fan as string, [seat(40), seat(41)])
    const [a, b] = response.json().seats as Array<{ reservationId: number }>
    if (!a || !b) throw new Error('two seats expected')
    expect(
      (await refund(a.reservationId, { reason: 'first' }, { 'idempotency-key': 'once' })).statusCode,
    ).toBe(200)
    const before = await balanceOf(fan as string)

    const attempts: Array<[number, unknown, Record<string, string>, number, string]> = [
      [
        b.reservationId,
        { reason: 'same key, other sale' },
        { 'idempotency-key': 'once' },
        409,
        'IDEMPOTENCY_KEY_IN_USE',
      ],
      [999_999, { reason: 'nobody' }, {}, 404, 'RESERVATION_NOT_FOUND'],
      [b.reservationId, {}, {}, 400, 'VALIDATION_FAILED'],
      [b.reservationId, { reason: '' }, {}, 400, 'VALIDATION_FAILED'],
      [b.reservationId, { reason: '   ' }, {}, 400, 'VALIDATION_FAILED'],
      [b.reservationId, { reason: 'x'.repeat(501) }, {}, 400, 'VALIDATION_FAILED'],
      [b.reservationId, { reason: 'ok', amount: 1 }, {}, 400, 'VALIDATION_FAILED'],
      [b.reservationId, { reason: 5 }, {}, 400, 'VALIDATION_FAILED'],
      [
        b.reservationId,
        { reason: 'ok' },
        { authorization: 'Bearer wrong-key-wrong-key-wrong' },
        401,
        'ADMIN_UNAUTHORIZED',
      ],
    ]
    for (const [id, body, headers, status, code] of attempts) {
      const refused = await refund(id, body, headers)
      expect(refused.statusCode, JSON.stringify(body)).toBe(status)
      expect(refused.headers['content-type']).toContain('application/problem+json')
      expect(refused.json().code).toBe(code)
    }
    expect(await balanceOf(fan as string)).toBe(before)
    expect(await refundRows(b.reservationId)).toEqual([])
    expect(await auditRows(b.reservationId)).toEqual([])
    const row = await env.db
      .selectFrom('RESERVATION')
      .select('status')
      .where('id', '=', b.reservationId)
      .executeTakeFirstOrThrow()
    expect(row.status).toBe('SOLD')
    await expectInvariants(env)
  })
})

describe('a free seat (price 0)', () => {
  it('is refunded like any other: 200, refunded 0, a REFUND row of 0, the seat AVAILABLE again', async () => {
    const [fan] = (await insertAccounts(env.db, 1, { prefix: 'free' })) as [string]
    const seatId = seat(45)
    const { seat_type: seatType } = catalog.seats.find((s) => s.id === seatId) as { seat_type: string }
    const price = await env.db
      .selectFrom('SEAT_PRICE')
      .select('price')
      .where('event_id', '=', catalog.eventId)
      .where('seat_type', '=', seatType)
      .executeTakeFirstOrThrow()
    const setPrice = (value: number) =>
      env.db
        .updateTable('SEAT_PRICE')
        .set({ price: value })
        .where('event_id', '=', catalog.eventId)
        .where('seat_type', '=', seatType)
        .execute()
    await setPrice(0)
    try {
      const { response } = await buy(fan, [seatId])
      expect(response.statusCode).toBe(201)
      const { reservationId } = response.json() as { reservationId: number }
      const refunded = await refund(reservationId, { reason: 'free seat given back' })
      expect(refunded.statusCode).toBe(200)
      expect(refunded.json()).toMatchObject({ reservationId, refunded: 0 })
      expect(await balanceOf(fan)).toBe(0)
      expect((await refundRows(reservationId)).map((row) => row.amount)).toEqual([0])
      expect(await seatStatus(seatId)).toBe('AVAILABLE')
    } finally {
      await setPrice(price.price)
    }
    await expectInvariants(env)
  })
})

describe('OpenAPI', () => {
  it('documents the refund route under the admin tag, with its key, body and answer', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const operation = doc.paths['/v1/admin/reservations/{reservationId}/refund']?.post
    expect(operation).toBeDefined()
    expect(operation.tags).toEqual(['admin'])
    expect(operation.security).toEqual([{ adminKey: [] }])
    expect(Object.keys(operation.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '409']),
    )
    expect(JSON.stringify(operation.parameters)).toContain('idempotency-key')
    expect(JSON.stringify(operation.requestBody)).toContain('"reason"')
    expect(operation.description).toContain('IDEMPOTENCY_KEY_IN_USE')
    expect(doc.components.schemas.AdminRefund.properties).toHaveProperty('refunded')
  })
})
