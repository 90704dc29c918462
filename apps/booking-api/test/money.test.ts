import type { App } from '@concert/http'
import { accountBalance, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  app = await buildBooking(env, {}, { poolSize: 5 })
})
afterAll(async () => {
  await app?.close()
})

const charge = (accountId: string, amount: unknown, key?: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/accounts/${accountId}/balance/charge`,
    headers: key ? { 'idempotency-key': key } : {},
    payload: { amount },
  })

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('charging', () => {
  it('100 parallel charges of 1,000 add exactly 100,000 and write 100 ledger rows', async () => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: 'charge' })) as [string]
    const responses = await Promise.all(Array.from({ length: 100 }, () => charge(id, 1_000)))
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 200))
    expect(await balanceOf(id)).toBe(100_000)
    const rows = await env.db.selectFrom('BALANCE_HISTORY').selectAll().where('account_id', '=', id).execute()
    expect(rows).toHaveLength(100)
    // Every answer reports a distinct running balance: each charge saw the one before it.
    expect(new Set(responses.map((r) => r.json().balance)).size).toBe(100)
    await expectInvariants(env)
  })

  it('50 parallel charges with one Idempotency-Key charge once and give 50 equal answers', async () => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: 'idem' })) as [string]
    const responses = await Promise.all(Array.from({ length: 50 }, () => charge(id, 7_000, 'charge-once')))
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 200))
    expect(new Set(responses.map((r) => r.body)).size).toBe(1)
    expect(responses[0]?.json()).toEqual({ accountId: id, balance: 7_000, charged: 7_000 })
    expect(await balanceOf(id)).toBe(7_000)
    expect(
      await env.db.selectFrom('BALANCE_HISTORY').selectAll().where('account_id', '=', id).execute(),
    ).toHaveLength(1)
    // A retry later replays; the same key with another amount is refused.
    expect((await charge(id, 7_000, 'charge-once')).json()).toEqual(responses[0]?.json())
    const conflict = await charge(id, 8_000, 'charge-once')
    expect(conflict.statusCode).toBe(409)
    expect(conflict.json().code).toBe('IDEMPOTENCY_KEY_IN_USE')
    expect(await balanceOf(id)).toBe(7_000)
    await expectInvariants(env)
  })

  it.each([
    [0, 422, 'AMOUNT_OUT_OF_RANGE'],
    [-5, 422, 'AMOUNT_OUT_OF_RANGE'],
    [10_000_001, 422, 'AMOUNT_OUT_OF_RANGE'],
    [1.5, 400, 'VALIDATION_FAILED'],
    ['100', 400, 'VALIDATION_FAILED'],
    [null, 400, 'VALIDATION_FAILED'],
  ])('a charge of %o answers %i %s and changes nothing', async (amount, status, code) => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: `bad${String(amount)}` })) as [string]
    const response = await charge(id, amount)
    expect(response.statusCode).toBe(status)
    expect(response.json().code).toBe(code)
    expect(await balanceOf(id)).toBe(0)
  })

  it('refuses a charge that would pass the INT balance limit', async () => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: 'rich', balance: 2_147_000_000 })) as [string]
    const response = await charge(id, 10_000_000)
    expect(response.statusCode).toBe(422)
    expect(response.json().code).toBe('AMOUNT_OUT_OF_RANGE')
    expect(await balanceOf(id)).toBe(2_147_000_000)
    expect((await charge(id, 483_647)).json().balance).toBe(2_147_483_647)
  })

  it('charging an unknown account is 404', async () => {
    const response = await charge('ghost', 1_000)
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('ACCOUNT_NOT_FOUND')
  })
})

describe('paying without enough money', () => {
  it('402, the seat stays AVAILABLE, the token stays READY, the balance is unchanged', async () => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: 'poor', balance: 1_000 })) as [string]
    const token = (await readyTokens(env, catalog.eventId, [id])).get(id) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }
    const seat = catalog.seats[5] as { id: number }
    const buy = () =>
      app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer(token),
        payload: { scheduleId: schedule.id, seatId: seat.id },
      })
    const response = await buy()
    expect(response.statusCode).toBe(402)
    expect(response.json().code).toBe('INSUFFICIENT_BALANCE')
    expect(await balanceOf(id)).toBe(1_000)
    const seats = await app.inject({
      method: 'GET',
      url: `/v1/schedules/${schedule.id}/seats`,
      headers: bearer(token),
    })
    expect(seats.json().seats.find((s: { seatId: number }) => s.seatId === seat.id).status).toBe('AVAILABLE')
    expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('READY')
    expect(await env.db.selectFrom('RESERVATION').selectAll().where('account_id', '=', id).execute()).toEqual(
      [],
    )

    // After a charge the same READY token buys the seat.
    await charge(id, 500_000)
    expect((await buy()).statusCode).toBe(201)
    await expectInvariants(env)
  })
})

describe('a free seat (price 0)', () => {
  it('sells with an empty balance: 201, nothing taken, a PAYMENT row of 0, the seat sold once', async () => {
    const [id] = (await insertAccounts(env.db, 1, { prefix: 'free' })) as [string]
    const token = (await readyTokens(env, catalog.eventId, [id])).get(id) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }
    const seat = catalog.seats[7] as { id: number; seat_type: string }
    // The operator made this seat type free for this event (prices are read fresh at payment).
    await env.db
      .updateTable('SEAT_PRICE')
      .set({ price: 0 })
      .where('event_id', '=', catalog.eventId)
      .where('seat_type', '=', seat.seat_type)
      .execute()
    const response = await app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(token),
      payload: { scheduleId: schedule.id, seatId: seat.id },
    })
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({ seatId: seat.id, price: 0, total: 0, balance: 0 })
    expect(await balanceOf(id)).toBe(0)
    const ledger = await env.db
      .selectFrom('BALANCE_HISTORY')
      .select(['amount', 'type', 'balance_after'])
      .where('account_id', '=', id)
      .execute()
    expect(ledger).toEqual([{ amount: 0, type: 'PAYMENT', balance_after: 0 }])
    await expectInvariants(env)
  })
})
