import type { App } from '@concert/http'
import { admitUntilReady } from '@concert/queue/testing'
import { accountBalance, insertAccounts, lockWaiters, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { admin, buildAdminBooking } from './admin-helpers.js'
import { bearer, expectInvariants, fastQueue, holdAccountRow, until } from './helpers.js'

// SPEC §9: maxSeatsPerAccount holds over all of an account's orders for an event,
// whatever tokens and shows they use, also when they run at the same moment.
const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

const BALANCE = 5_000_000

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  // Pool of 4 connections for 5 parallel orders.
  app = await buildAdminBooking(env, { DB_POOL_SIZE: '4' })
  const limits = await admin(app, 'PATCH', `/v1/admin/events/${catalog.eventId}`, {
    limits: { maxSeatsPerOrder: 2, maxSeatsPerAccount: 4 },
  })
  expect(limits.status, JSON.stringify(limits.body)).toBe(200)
})
// SPEC §4 and §9 invariants over the whole database after every test.
afterEach(() => expectInvariants(env))
afterAll(async () => {
  await app?.close()
})

const shows = () => catalog.schedules.filter((s) => s.event_id === catalog.eventId).map((s) => s.id)
const seat = (number: number) => catalog.seats.find((s) => s.seat_number === String(number))?.id as number

/** Sent at once: inject() alone is lazy and would start only when awaited. */
async function order(token: string, scheduleId: number, seatIds: number[]) {
  return await app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId, seatIds },
  })
}

/** A new READY token of the account for the event (its previous one must be spent or left). */
async function newReadyToken(accountId: string): Promise<string> {
  const queue = fastQueue(env)
  const { ticket, created } = await queue.join(catalog.eventId, accountId)
  expect(created).toBe(true)
  if (!(await admitUntilReady(queue, catalog.eventId, ticket.token, { attempts: 100, pauseMs: 10 }))) {
    throw new Error('token never became READY')
  }
  return ticket.token
}

async function seatsHeld(accountId: string) {
  return env.db
    .selectFrom('RESERVATION')
    .select(['schedule_id', 'seat_id'])
    .where('account_id', '=', accountId)
    .where('status', '=', 'SOLD')
    .execute()
}

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('seats per account (maxSeatsPerAccount 4, maxSeatsPerOrder 2)', () => {
  it('five orders of 2 seats with five tokens over two shows, all in flight at once: exactly 2 succeed, 4 seats held', async () => {
    /*
     * One account has one live token per event, so five tokens of one account can only
     * be had one after another. But a payment keeps going once it has claimed its token,
     * even if the fan then leaves the queue and joins again for a new token. So: the
     * test holds the account's row lock (as a payment in progress would), and for each
     * of five tokens starts an order, waits until that order is inside its transaction
     * waiting for the account row, then leaves and rejoins for the next token. When the
     * lock is released, five orders (four claimed tokens already left, one still READY)
     * run against the limit at the same moment; only the database count under the
     * account lock can stop them.
     */
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'greedy', balance: BALANCE })
    const accountId = fan as string
    const [showA, showB] = shows() as [number, number]
    const queue = fastQueue(env)

    const hold = await holdAccountRow(env, accountId)

    const tokens: string[] = []
    const pending: Array<ReturnType<typeof order>> = []
    try {
      for (let i = 0; i < 5; i += 1) {
        const token = await newReadyToken(accountId)
        tokens.push(token)
        // Orders alternate between the two shows, each for two seats nobody else wants.
        pending.push(order(token, i % 2 === 0 ? showA : showB, [seat(2 * i + 1), seat(2 * i + 2)]))
        // Orders 1..4 each hold one of the pool's 4 connections, waiting for the account row;
        // the fifth can only wait for a connection (pool smaller than the orders), so it
        // cannot be seen waiting for the row; it runs as soon as the others let go.
        if (i < 4) {
          await until(
            async () => (await lockWaiters(env)) === i + 1,
            `order ${i + 1} to wait for the account row`,
          )
          expect(await queue.leave(token)).toBe('LEFT')
        }
      }
    } finally {
      await hold.release()
    }
    const responses = await Promise.all(pending)

    const statuses = responses.map((r) => r.statusCode)
    expect(
      statuses.filter((s) => s === 201),
      JSON.stringify(statuses),
    ).toHaveLength(2)
    expect(statuses.filter((s) => s === 409)).toHaveLength(3)
    for (const refused of responses.filter((r) => r.statusCode === 409)) {
      expect(refused.headers['content-type']).toContain('application/problem+json')
      expect(refused.json()).toMatchObject({
        code: 'PURCHASE_LIMIT_EXCEEDED',
        maxSeatsPerAccount: 4,
        seatsHeld: 4,
      })
    }
    const held = await seatsHeld(accountId)
    expect(held).toHaveLength(4)
    const paid = responses.filter((r) => r.statusCode === 201).reduce((sum, r) => sum + r.json().total, 0)
    expect(await balanceOf(accountId)).toBe(BALANCE - paid)
    // The fifth token was never left: if its order lost, it is still READY to buy with.
    const fifth = responses[4]
    const fifthTicket = await queue.get(tokens[4] as string, { touch: false })
    expect(fifthTicket?.status).toBe(fifth?.statusCode === 201 ? 'EXPIRED' : 'READY')
    await expectInvariants(env)
  }, 60_000)

  it('orders add up across tokens and shows; a refund makes room again; too many seats in one order is 409', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'steady', balance: BALANCE })
    const accountId = fan as string
    const [showA, showB] = shows() as [number, number]

    const tooBig = await order(await newReadyToken(accountId), showA, [seat(31), seat(32), seat(33)])
    expect(tooBig.statusCode).toBe(409)
    expect(tooBig.json()).toMatchObject({ code: 'ORDER_TOO_LARGE', maxSeatsPerOrder: 2 })
    expect(await seatsHeld(accountId)).toEqual([])

    // The token of the refused order is still READY and buys 2 on show A.
    const first = await order((await fastQueue(env).join(catalog.eventId, accountId)).ticket.token, showA, [
      seat(31),
      seat(32),
    ])
    expect(first.statusCode).toBe(201)
    expect((await order(await newReadyToken(accountId), showB, [seat(31)])).statusCode).toBe(201)
    // 3 held: one more fits, two do not.
    const token = await newReadyToken(accountId)
    const over = await order(token, showB, [seat(32), seat(33)])
    expect(over.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', seatsHeld: 3 })
    expect((await order(token, showB, [seat(32)])).statusCode).toBe(201)
    expect(await seatsHeld(accountId)).toHaveLength(4)

    // A refunded seat no longer counts.
    const refund = await admin(app, 'POST', `/v1/admin/reservations/${first.json().reservationId}/refund`, {
      reason: 'limit test',
    })
    expect(refund.status, JSON.stringify(refund.body)).toBe(200)
    const again = await order(await newReadyToken(accountId), showB, [seat(33)])
    expect(again.statusCode, again.body).toBe(201)
    expect(await seatsHeld(accountId)).toHaveLength(4)
    await expectInvariants(env)
  }, 60_000)
})
