import type { App } from '@concert/http'
import { accountBalance, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

// SPEC §9: orders of several seats, all or nothing. Shows 0 and 1 get a race each; show 2's seats are shared out.
const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

const BALANCE = 5_000_000

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  await insertAccounts(env.db, 1, { prefix: 'viewer' })
  // Pool of 5 connections for up to 100 parallel orders.
  app = await buildBooking(env, {}, { poolSize: 5 })
})
// SPEC §4 and §9 invariants over the whole database after every test.
afterEach(() => expectInvariants(env))
afterAll(async () => {
  await app?.close()
})

/** The n-th show of the first demo event; each test sells on its own show. */
const show = (n: number) => {
  const s = catalog.schedules.filter((x) => x.event_id === catalog.eventId)[n]
  if (!s) throw new Error(`no show ${n}`)
  return s.id
}
/** Seat ids of seat numbers (1..50) of the demo hall. */
const seat = (number: number) => {
  const found = catalog.seats.find((s) => s.seat_number === String(number))
  if (!found) throw new Error(`no seat ${number}`)
  return found.id
}

function order(token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { ...bearer(token), ...headers },
    payload: body,
  })
}

const balanceOf = (id: string) => accountBalance(env.db, id)

async function seatPrices(scheduleId: number): Promise<Map<number, number>> {
  const token = (await readyTokens(env, catalog.eventId, ['viewer-1'])).get('viewer-1') as string
  const map = (
    await app.inject({ method: 'GET', url: `/v1/schedules/${scheduleId}/seats`, headers: bearer(token) })
  ).json()
  return new Map(map.seats.map((s: { seatId: number; price: number }) => [s.seatId, s.price]))
}

describe('orders of several seats', () => {
  it('100 fans each buying 4 overlapping seats of a 50-seat show at once: all or nothing, no seat twice, losers untouched', async () => {
    const scheduleId = show(0)
    const prices = await seatPrices(scheduleId)
    const fans = await insertAccounts(env.db, 100, { prefix: 'crowd', balance: BALANCE })
    const tokens = await readyTokens(env, catalog.eventId, fans)
    // Fan i wants 4 consecutive seats from a start that walks the hall, so choices overlap heavily.
    const wanted = new Map(
      fans.map((fan, i) => {
        const start = ((i * 13) % 47) + 1
        return [fan, [start, start + 1, start + 2, start + 3].map(seat)]
      }),
    )
    const responses = await Promise.all(
      fans.map((fan) => order(tokens.get(fan) as string, { scheduleId, seatIds: wanted.get(fan) })),
    )

    const winners = new Map<string, { seats: Array<{ seatId: number; price: number }>; total: number }>()
    for (const [i, response] of responses.entries()) {
      const fan = fans[i] as string
      const asked = wanted.get(fan) as number[]
      if (response.statusCode === 201) {
        const body = response.json()
        expect(body.seats.map((s: { seatId: number }) => s.seatId)).toEqual(asked)
        const total = asked.reduce((sum, id) => sum + (prices.get(id) as number), 0)
        expect(body).toMatchObject({
          accountId: fan,
          scheduleId,
          seatId: asked[0],
          total,
          balance: BALANCE - total,
        })
        winners.set(fan, body)
      } else {
        expect(response.statusCode, response.body).toBe(409)
        const problem = response.json()
        expect(['SEAT_LOCKED', 'SEAT_ALREADY_RESERVED']).toContain(problem.code)
        expect(problem.seatIds.length).toBeGreaterThan(0)
        for (const id of problem.seatIds) expect(asked).toContain(id)
      }
    }
    expect(winners.size).toBeGreaterThanOrEqual(1)
    expect(winners.size).toBeLessThanOrEqual(12)

    const rows = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'seat_id', 'order_id', 'id'])
      .where('schedule_id', '=', scheduleId)
      .execute()
    expect(rows).toHaveLength(4 * winners.size)
    expect(new Set(rows.map((r) => r.seat_id)).size).toBe(rows.length)
    for (const fan of fans) {
      const mine = rows.filter((r) => r.account_id === fan)
      if (winners.has(fan)) {
        // Exactly the 4 seats asked for, as one order.
        expect(mine.map((r) => r.seat_id).sort((a, b) => a - b)).toEqual(wanted.get(fan))
        expect(new Set(mine.map((r) => r.order_id)).size).toBe(1)
        expect(await balanceOf(fan)).toBe(BALANCE - (winners.get(fan)?.total as number))
      } else {
        expect(mine).toEqual([])
        expect(await balanceOf(fan)).toBe(BALANCE)
      }
    }
    const queue = fastQueue(env)
    for (const fan of fans) {
      const ticket = await queue.get(tokens.get(fan) as string, { touch: false })
      expect(ticket?.status, fan).toBe(winners.has(fan) ? 'EXPIRED' : 'READY')
    }
    await expectInvariants(env)
  }, 120_000)

  it('two fans, seats {a, b} and {b, a}, 20 times: exactly one wins each time, no deadlock, no 5xx', async () => {
    const scheduleId = show(1)
    // One database connection for the two orders: whichever gets it must not wait on the other.
    const single = await buildBooking(env, {}, { poolSize: 1 })
    const order = (token: string, body: Record<string, unknown>) =>
      single.inject({ method: 'POST', url: '/v1/reservations', headers: bearer(token), payload: body })
    try {
      const fans = await insertAccounts(env.db, 40, { prefix: 'pair', balance: BALANCE })
      const tokens = await readyTokens(env, catalog.eventId, fans)
      for (let round = 0; round < 20; round += 1) {
        const [first, second] = [fans[2 * round] as string, fans[2 * round + 1] as string]
        const [a, b] = [seat(2 * round + 1), seat(2 * round + 2)]
        const [one, two] = await Promise.all([
          order(tokens.get(first) as string, { scheduleId, seatIds: [a, b] }),
          order(tokens.get(second) as string, { scheduleId, seatIds: [b, a] }),
        ])
        const statuses = [one.statusCode, two.statusCode].sort()
        expect(statuses, `round ${round}: ${one.body} ${two.body}`).toEqual([201, 409])
        const loser = one.statusCode === 409 ? one : two
        expect(['SEAT_LOCKED', 'SEAT_ALREADY_RESERVED']).toContain(loser.json().code)
        const loserId = loser === one ? first : second
        expect(await balanceOf(loserId)).toBe(BALANCE)
        expect((await fastQueue(env).get(tokens.get(loserId) as string, { touch: false }))?.status).toBe(
          'READY',
        )
      }
      const rows = await env.db
        .selectFrom('RESERVATION')
        .select('seat_id')
        .where('schedule_id', '=', scheduleId)
        .execute()
      expect(rows).toHaveLength(40)
      await expectInvariants(env)
    } finally {
      await single.close()
    }
  }, 120_000)

  it('a v1 body answers as before, plus seats and total', async () => {
    const scheduleId = show(2)
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'v1', balance: BALANCE })
    const token = (await readyTokens(env, catalog.eventId, [fan as string])).get(fan as string) as string
    const response = await order(token, { scheduleId, seatId: seat(7) })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(Object.keys(body).sort()).toEqual(
      [
        'reservationId',
        'accountId',
        'scheduleId',
        'seatId',
        'seatNumber',
        'price',
        'balance',
        'reservedAt',
        'seats',
        'total',
      ].sort(),
    )
    expect(body).toMatchObject({ accountId: fan, scheduleId, seatId: seat(7), seatNumber: '7' })
    expect(body.seats).toEqual([
      { reservationId: body.reservationId, seatId: seat(7), seatNumber: '7', price: body.price },
    ])
    expect(body.total).toBe(body.price)
    expect(body.balance).toBe(BALANCE - body.price)
    await expectInvariants(env)
  })

  it('the seat map shows every seat of an order sold at once, although it was cached', async () => {
    const scheduleId = show(2)
    const [fan, viewer] = await insertAccounts(env.db, 2, { prefix: 'map', balance: BALANCE })
    const tokens = await readyTokens(env, catalog.eventId, [fan as string, viewer as string])
    const seats = [seat(20), seat(21), seat(22)]
    const statuses = async () => {
      const map = (
        await app.inject({
          method: 'GET',
          url: `/v1/schedules/${scheduleId}/seats`,
          headers: bearer(tokens.get(viewer as string) as string),
        })
      ).json()
      return map.seats
        .filter((s: { seatId: number }) => seats.includes(s.seatId))
        .map((s: { status: string }) => s.status)
    }
    expect(await statuses()).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE'])
    const response = await order(tokens.get(fan as string) as string, { scheduleId, seatIds: seats })
    expect(response.statusCode).toBe(201)
    expect(await statuses()).toEqual(['RESERVED', 'RESERVED', 'RESERVED'])
    // And the dates list counts them.
    const dates = (
      await app.inject({
        method: 'GET',
        url: `/v1/events/${catalog.eventId}/schedules`,
        headers: bearer(tokens.get(viewer as string) as string),
      })
    ).json()
    const sold = await env.db
      .selectFrom('RESERVATION')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('schedule_id', '=', scheduleId)
      .executeTakeFirstOrThrow()
    expect(dates.find((d: { scheduleId: number }) => d.scheduleId === scheduleId)).toMatchObject({
      totalSeats: 50,
      availableSeats: 50 - Number(sold.n),
    })
  })

  it('one taken seat fails the whole order: 409 naming it, nothing sold, token still READY', async () => {
    const scheduleId = show(2)
    const [early, late] = await insertAccounts(env.db, 2, { prefix: 'taken', balance: BALANCE })
    const tokens = await readyTokens(env, catalog.eventId, [early as string, late as string])
    expect(
      (await order(tokens.get(early as string) as string, { scheduleId, seatIds: [seat(5)] })).statusCode,
    ).toBe(201)
    const refused = await order(tokens.get(late as string) as string, {
      scheduleId,
      seatIds: [seat(6), seat(5), seat(4)],
    })
    expect(refused.statusCode).toBe(409)
    expect(refused.headers['content-type']).toContain('application/problem+json')
    expect(refused.json()).toMatchObject({ code: 'SEAT_ALREADY_RESERVED', seatIds: [seat(5)] })
    expect(await balanceOf(late as string)).toBe(BALANCE)
    const rows = await env.db
      .selectFrom('RESERVATION')
      .select('seat_id')
      .where('account_id', '=', late as string)
      .execute()
    expect(rows).toEqual([])
    expect((await fastQueue(env).get(tokens.get(late as string) as string, { touch: false }))?.status).toBe(
      'READY',
    )
    // The same token then buys the seats that are free.
    const retry = await order(tokens.get(late as string) as string, {
      scheduleId,
      seatIds: [seat(6), seat(4)],
    })
    expect(retry.statusCode).toBe(201)
    expect(retry.json().seats.map((s: { seatId: number }) => s.seatId)).toEqual([seat(4), seat(6)])
    await expectInvariants(env)
  })

  it('a 409 names every unavailable seat of the order: the sold ones and those another payment holds', async () => {
    const scheduleId = show(2)
    const [early, holder, late] = await insertAccounts(env.db, 3, { prefix: 'names', balance: BALANCE })
    const tokens = await readyTokens(env, catalog.eventId, [early, holder, late] as string[])
    expect(
      (await order(tokens.get(early as string) as string, { scheduleId, seatIds: [seat(30)] })).statusCode,
    ).toBe(201)
    // Another fan's payment is under way on seats 32 and 34: its claim and seat locks are
    // taken exactly as the purchase path takes them, and it has not finished.
    const queue = fastQueue(env)
    const held = { scheduleId, seatIds: [seat(32), seat(34)], lockTtlMs: 30_000 }
    const begun = await queue.beginPurchase(
      tokens.get(holder as string) as string,
      'other-payment',
      30_000,
      held,
    )
    expect(begun.ok).toBe(true)

    const lateToken = tokens.get(late as string) as string
    const both = await order(lateToken, { scheduleId, seatIds: [seat(30), seat(31), seat(32), seat(34)] })
    expect(both.statusCode).toBe(409)
    expect(both.json()).toMatchObject({
      code: 'SEAT_ALREADY_RESERVED',
      seatIds: [seat(30), seat(32), seat(34)],
    })
    const lockedOnly = await order(lateToken, {
      scheduleId,
      seatIds: [seat(31), seat(32), seat(33), seat(34)],
    })
    expect(lockedOnly.statusCode).toBe(409)
    expect(lockedOnly.json()).toMatchObject({ code: 'SEAT_LOCKED', seatIds: [seat(32), seat(34)] })
    expect(await balanceOf(late as string)).toBe(BALANCE)
    expect(
      await env.db
        .selectFrom('RESERVATION')
        .select('id')
        .where('account_id', '=', late as string)
        .execute(),
    ).toEqual([])
    expect((await queue.get(lateToken, { touch: false }))?.status).toBe('READY')

    // Once the other payment gives up, its seats are free for this token.
    expect(await queue.abortPurchase(tokens.get(holder as string) as string, 'other-payment', held)).toBe(
      true,
    )
    const retry = await order(lateToken, { scheduleId, seatIds: [seat(31), seat(32), seat(34)] })
    expect(retry.statusCode, retry.body).toBe(201)
    await expectInvariants(env)
  })

  it('an unknown seat or a short balance refuses the whole order and writes nothing', async () => {
    const scheduleId = show(2)
    const [poor] = await insertAccounts(env.db, 1, { prefix: 'poor', balance: 200_000 })
    const token = (await readyTokens(env, catalog.eventId, [poor as string])).get(poor as string) as string
    const unknown = await order(token, { scheduleId, seatIds: [seat(40), 999_999] })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ code: 'SEAT_NOT_FOUND', seatIds: [999_999] })
    // Two S seats cost 242,000: more than the 200,000 the fan has, though each alone would do.
    const short = await order(token, { scheduleId, seatIds: [seat(40), seat(41)] })
    expect(short.statusCode).toBe(402)
    expect(short.json().code).toBe('INSUFFICIENT_BALANCE')
    expect(await balanceOf(poor as string)).toBe(200_000)
    const history = await env.db
      .selectFrom('BALANCE_HISTORY')
      .select('type')
      .where('account_id', '=', poor as string)
      .execute()
    expect(history).toEqual([{ type: 'CHARGE' }])
    expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('READY')
    await expectInvariants(env)
  })

  it('20 parallel retries of a 3-seat order with one Idempotency-Key: one order, 20 equal answers; the key stays its own', async () => {
    const scheduleId = show(2)
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'retry', balance: BALANCE })
    const token = (await readyTokens(env, catalog.eventId, [fan as string])).get(fan as string) as string
    const seats = [seat(12), seat(11), seat(13)]
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        order(token, { scheduleId, seatIds: seats }, { 'idempotency-key': 'trio' }),
      ),
    )
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 201))
    expect(new Set(responses.map((r) => r.body)).size).toBe(1)
    const first = responses[0]?.json()
    expect(first.seats.map((s: { seatId: number }) => s.seatId)).toEqual([seat(11), seat(12), seat(13)])
    const payments = await env.db
      .selectFrom('BALANCE_HISTORY')
      .selectAll()
      .where('account_id', '=', fan as string)
      .where('type', '=', 'PAYMENT')
      .execute()
    expect(payments).toHaveLength(3)
    expect(payments.filter((p) => p.idempotency_key === 'trio')).toHaveLength(1)
    expect(await balanceOf(fan as string)).toBe(BALANCE - first.total)

    // Later, the token long spent, the same order in another seat order: the same answer.
    const later = await order(
      token,
      { scheduleId, seatIds: [seat(13), seat(12), seat(11)] },
      { 'idempotency-key': 'trio' },
    )
    expect(later.statusCode).toBe(201)
    expect(later.headers['idempotent-replayed']).toBe('true')
    expect(later.body).toBe(responses[0]?.body)
    // The same key for other seats, a subset, or another show is another request.
    for (const body of [
      { scheduleId, seatIds: [seat(11), seat(12)] },
      { scheduleId, seatIds: [seat(11), seat(12), seat(14)] },
      { scheduleId, seatId: seat(11) },
      { scheduleId: show(1), seatIds: seats },
    ]) {
      const other = await order(token, body, { 'idempotency-key': 'trio' })
      expect(other.statusCode, JSON.stringify(body)).toBe(409)
      expect(other.json().code).toBe('IDEMPOTENCY_KEY_IN_USE')
    }
    expect(await balanceOf(fan as string)).toBe(BALANCE - first.total)
    await expectInvariants(env)
  }, 60_000)
})

describe('OpenAPI', () => {
  it('documents seatIds, the order fields, the new codes and the reservation status', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const reserve = doc.paths['/v1/reservations'].post
    const body = JSON.stringify(reserve.requestBody)
    expect(body).toContain('"seatIds"')
    expect(body).toContain('"uniqueItems":true')
    expect(body).toContain('"seatId"')
    for (const code of [
      'SEAT_LOCKED',
      'SEAT_ALREADY_RESERVED',
      'ORDER_TOO_LARGE',
      'PURCHASE_LIMIT_EXCEEDED',
    ]) {
      expect(reserve.description).toContain(code)
    }
    expect(Object.keys(reserve.responses)).toEqual(expect.arrayContaining(['201', '402', '404', '409']))
    const reservation = doc.components.schemas.Reservation
    expect(reservation.properties).toHaveProperty('seats')
    expect(reservation.properties).toHaveProperty('total')
    expect(reservation.properties.seats.items.properties).toHaveProperty('reservationId')
    const listed = doc.components.schemas.AccountReservation.properties
    expect(JSON.stringify(listed.status)).toContain('REFUNDED')
    expect(listed).toHaveProperty('orderId')
    expect(listed).toHaveProperty('refundedAt')
  })
})
