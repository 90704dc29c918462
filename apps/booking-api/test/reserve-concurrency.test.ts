import type { App } from '@concert/http'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  // Pool of 5 connections for 200 parallel requests.
  app = await buildBooking(env, {}, { poolSize: 5 })
})
afterAll(async () => {
  await app?.close()
})

const schedule = () => {
  const s = catalog.schedules.find((x) => x.event_id === catalog.eventId)
  if (!s) throw new Error('no schedule')
  return s
}

function reserve(token: string, scheduleId: number, seatId: number, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { ...bearer(token), ...headers },
    payload: { scheduleId, seatId },
  })
}

describe('reserve-and-pay under contention', () => {
  it('200 fans racing for one seat: exactly one 201, 199 × 409, one row, only the winner pays', async () => {
    const accounts = await insertAccounts(env.db, 200, { prefix: 'race', balance: 1_000_000 })
    const tokens = await readyTokens(env, catalog.eventId, accounts)
    const seat = catalog.seats[0]
    if (!seat) throw new Error('no seat')
    const scheduleId = schedule().id

    const responses = await Promise.all(
      accounts.map((id) => reserve(tokens.get(id) as string, scheduleId, seat.id)),
    )
    const winners = responses.filter((r) => r.statusCode === 201)
    const losers = responses.filter((r) => r.statusCode === 409)
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(199)
    for (const loser of losers) expect(['SEAT_LOCKED', 'SEAT_ALREADY_RESERVED']).toContain(loser.json().code)

    const winner = winners[0]?.json()
    const rows = await env.db
      .selectFrom('RESERVATION')
      .selectAll()
      .where('schedule_id', '=', scheduleId)
      .where('seat_id', '=', seat.id)
      .execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]?.account_id).toBe(winner.accountId)

    const price = winner.price as number
    expect(winner.balance).toBe(1_000_000 - price)
    const balances = await env.db
      .selectFrom('ACCOUNT')
      .select(['id', 'amount'])
      .where('id', 'like', 'race-%')
      .execute()
    for (const { id, amount } of balances)
      expect(amount).toBe(id === winner.accountId ? 1_000_000 - price : 1_000_000)

    const queue = fastQueue(env)
    const winnerToken = tokens.get(winner.accountId) as string
    expect(await queue.get(winnerToken, { touch: false })).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
    })
    const tokenRow = await env.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('token', '=', winnerToken)
      .executeTakeFirst()
    expect(tokenRow).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/booking_reservations_total\{[^}]*outcome="CREATED"[^}]*\} 1\n/)
    // The losers keep their READY tokens and can try another seat.
    const someLoser = accounts.find((id) => id !== winner.accountId) as string
    expect((await queue.get(tokens.get(someLoser) as string, { touch: false }))?.status).toBe('READY')
    await expectInvariants(env)
  }, 60_000)

  it('40 fans buying 40 different seats at once all succeed, even before their tokens reach MySQL', async () => {
    // No mirror runs in this file, so no QUEUE_TOKEN row exists yet for these tokens:
    // the payment transactions must not deadlock on the missing rows.
    const accounts = await insertAccounts(env.db, 40, { prefix: 'many', balance: 1_000_000 })
    const tokens = await readyTokens(env, catalog.eventId, accounts)
    const other = catalog.schedules.filter((s) => s.event_id === catalog.eventId)[1] as { id: number }
    const responses = await Promise.all(
      accounts.map((id, i) =>
        reserve(tokens.get(id) as string, other.id, (catalog.seats[i] as { id: number }).id),
      ),
    )
    expect(responses.map((r) => r.statusCode)).toEqual(accounts.map(() => 201))
    const rows = await env.db
      .selectFrom('RESERVATION')
      .selectAll()
      .where('schedule_id', '=', other.id)
      .execute()
    expect(rows).toHaveLength(40)
    await expectInvariants(env)
  }, 60_000)

  it('20 parallel reservations of 20 seats with ONE token: exactly one succeeds, one price is paid', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'greedy', balance: 5_000_000 })
    const token = (await readyTokens(env, catalog.eventId, [fan as string])).get(fan as string) as string
    const seats = catalog.seats.slice(10, 30)
    const responses = await Promise.all(seats.map((seat) => reserve(token, schedule().id, seat.id)))
    const ok = responses.filter((r) => r.statusCode === 201)
    expect(ok).toHaveLength(1)
    for (const r of responses.filter((x) => x.statusCode !== 201)) {
      expect(r.statusCode).toBe(401)
      expect(r.json().code).toBe('TOKEN_EXPIRED')
    }
    const price = ok[0]?.json().price as number
    const account = await env.db
      .selectFrom('ACCOUNT')
      .select('amount')
      .where('id', '=', fan as string)
      .executeTakeFirst()
    expect(account?.amount).toBe(5_000_000 - price)
    const reservations = await env.db
      .selectFrom('RESERVATION')
      .selectAll()
      .where('account_id', '=', fan as string)
      .execute()
    expect(reservations).toHaveLength(1)
    await expectInvariants(env)
  }, 60_000)

  it('20 parallel retries of one reservation with the same Idempotency-Key: one purchase, 20 equal answers', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'retry', balance: 5_000_000 })
    const token = (await readyTokens(env, catalog.eventId, [fan as string])).get(fan as string) as string
    const seat = catalog.seats[40]
    if (!seat) throw new Error('no seat')
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        reserve(token, schedule().id, seat.id, { 'idempotency-key': 'buy-41' }),
      ),
    )
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 201))
    expect(new Set(responses.map((r) => r.body)).size).toBe(1)
    const rows = await env.db
      .selectFrom('BALANCE_HISTORY')
      .selectAll()
      .where('account_id', '=', fan as string)
      .execute()
    expect(rows.filter((r) => r.type === 'PAYMENT')).toHaveLength(1)
    // A later retry, with the token long spent, still gets the same answer.
    const later = await reserve(token, schedule().id, seat.id, { 'idempotency-key': 'buy-41' })
    expect(later.statusCode).toBe(201)
    expect(later.body).toBe(responses[0]?.body)
    // The same key for another seat is a different request.
    const other = await reserve(token, schedule().id, (catalog.seats[41] as { id: number }).id, {
      'idempotency-key': 'buy-41',
    })
    expect(other.statusCode).toBe(409)
    expect(other.json().code).toBe('IDEMPOTENCY_KEY_IN_USE')
    await expectInvariants(env)
  }, 60_000)
})
