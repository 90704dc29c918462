import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { admitUntilReady, makeQueue } from './helpers.js'

const env = useTestEnv()
let eventId: number
let accounts: string[]

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, 8, { prefix: 'claim' })
})

async function readyToken(accountId: string) {
  const { queue } = makeQueue(env, { admitPerSecond: 1000 })
  const { ticket } = await queue.join(eventId, accountId)
  // The bucket starts empty: give it time to fill, then admit.
  if (!(await admitUntilReady(queue, eventId, ticket.token, { attempts: 50, pauseMs: 20 }))) {
    throw new Error('token never became READY')
  }
  return ticket.token
}

describe('claiming a READY token for payment', () => {
  it('100 parallel claims of one READY token: exactly one succeeds', async () => {
    const { queue } = makeQueue(env)
    const token = await readyToken(accounts[0] as string)
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => queue.claim(token, `owner-${i}`, 10_000)),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok && r.reason === 'BUSY')).toHaveLength(99)
  })

  it('a released claim can be taken again; a completed token can never be claimed', async () => {
    const { queue } = makeQueue(env)
    const token = await readyToken(accounts[1] as string)
    expect((await queue.claim(token, 'a', 10_000)).ok).toBe(true)
    expect(await queue.releaseClaim(token, 'not-a')).toBe(false)
    expect((await queue.claim(token, 'b', 10_000)).ok).toBe(false)
    expect(await queue.releaseClaim(token, 'a')).toBe(true)
    expect((await queue.claim(token, 'b', 10_000)).ok).toBe(true)
    expect(await queue.complete(token, 'a', new Date())).toBe(false)
    const completedAt = new Date()
    expect(await queue.complete(token, 'b', completedAt)).toBe(true)
    expect(await queue.claim(token, 'c', 10_000)).toEqual({ ok: false, reason: 'EXPIRED' })
    const ticket = await queue.get(token)
    expect(ticket).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
      expiresAt: completedAt.toISOString(),
    })
  })

  it('a claim that outlives its TTL (the claimant died) can be taken over', async () => {
    const { queue } = makeQueue(env)
    const token = await readyToken(accounts[2] as string)
    expect((await queue.claim(token, 'dead', 50)).ok).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect((await queue.claim(token, 'alive', 10_000)).ok).toBe(true)
  })

  it('a fan who leaves while their payment runs still ends COMPLETED, in Redis and in MySQL', async () => {
    const { queue, mirror } = makeQueue(env)
    const token = await readyToken(accounts[4] as string)
    expect((await queue.claim(token, 'paying', 10_000)).ok).toBe(true)
    expect(await queue.leave(token)).toBe('LEFT')
    const completedAt = new Date()
    expect(await queue.complete(token, 'paying', completedAt)).toBe(true)
    expect(await queue.get(token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
      expiresAt: completedAt.toISOString(),
    })
    await mirror.drain(eventId)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('token', '=', token)
      .executeTakeFirst()
    expect(row).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED', expires_at: completedAt })
  })

  it('a WAITING token cannot be claimed; an unknown one is missing', async () => {
    const { queue } = makeQueue(env, { admitPerSecond: 1 })
    const { ticket } = await queue.join(eventId, accounts[3] as string)
    expect(await queue.claim(ticket.token, 'x', 1000)).toEqual({ ok: false, reason: 'NOT_READY' })
    expect(await queue.claim(`${eventId}.AAAAAAAAAAAAAAAAAAAAAA`, 'x', 1000)).toEqual({
      ok: false,
      reason: 'MISSING',
    })
    expect(await queue.claim('garbage', 'x', 1000)).toEqual({ ok: false, reason: 'MISSING' })
  })

  it('a purchase claims its token and locks all its seats, or neither; sold seats are refused in Redis', async () => {
    const { queue } = makeQueue(env)
    const [first, second] = [await readyToken(accounts[5] as string), await readyToken(accounts[6] as string)]
    const order = (...seatIds: number[]) => ({ scheduleId: 1, seatIds, lockTtlMs: 10_000 })

    expect((await queue.beginPurchase(first, 'a', 10_000, order(2, 4))).ok).toBe(true)
    // Overlapping seats: every one held by another payment is named; nothing is taken.
    expect(await queue.beginPurchase(second, 'b', 10_000, order(1, 4, 6))).toEqual({
      ok: false,
      reason: 'SEAT_LOCKED',
      seatIds: [4],
    })
    expect((await queue.beginPurchase(second, 'b', 10_000, order(1, 6))).ok).toBe(true)
    expect(await queue.abortPurchase(second, 'b', order(1, 6))).toBe(true)

    // Another owner's abort releases nothing of 'a'.
    expect(await queue.abortPurchase(first, 'b', order(2, 4))).toBe(false)
    expect(await queue.beginPurchase(second, 'b', 10_000, order(2))).toMatchObject({ reason: 'SEAT_LOCKED' })
    expect(await queue.finishPurchase(first, 'a', new Date(), order(2, 4))).toBe(true)

    // Sold: every sold seat of the order is named, and the token stays claimable.
    expect(await queue.beginPurchase(second, 'b', 10_000, order(1, 2, 4))).toEqual({
      ok: false,
      reason: 'SEAT_TAKEN',
      seatIds: [2, 4],
    })
    expect(await queue.releaseSeats(eventId, 1, [4, 6])).toBe(1)
    expect((await queue.beginPurchase(second, 'b', 10_000, order(1, 4))).ok).toBe(true)
  })

  it('seats locked by the token’s own attempt whose claim lapsed (its copy died) are taken over with the claim; another token’s stay refused', async () => {
    const { queue } = makeQueue(env)
    const [mine, other] = [await readyToken(accounts[7] as string), await readyToken(accounts[4] as string)]
    const order = (ttl: number, ...seatIds: number[]) => ({ scheduleId: 2, seatIds, lockTtlMs: ttl })
    // The dead attempt: a short claim, seat locks that outlive it.
    expect((await queue.beginPurchase(mine, 'dead', 150, order(60_000, 11, 12))).ok).toBe(true)
    expect(await queue.beginPurchase(mine, 'retry', 10_000, order(10_000, 11, 12))).toEqual({
      ok: false,
      reason: 'BUSY',
    })
    // Another fan's token never gets them, claim lapsed or not.
    expect(await queue.beginPurchase(other, 'x', 10_000, order(10_000, 12, 13))).toEqual({
      ok: false,
      reason: 'SEAT_LOCKED',
      seatIds: [12],
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await queue.beginPurchase(other, 'x', 10_000, order(10_000, 12, 13))).toEqual({
      ok: false,
      reason: 'SEAT_LOCKED',
      seatIds: [12],
    })
    // The fan's retry takes the claim and the seats over, and holds them against the dead attempt.
    expect((await queue.beginPurchase(mine, 'retry', 10_000, order(10_000, 11, 12))).ok).toBe(true)
    expect(await queue.abortPurchase(mine, 'dead', order(10_000, 11, 12))).toBe(false)
    expect(await queue.beginPurchase(other, 'x', 10_000, order(10_000, 11))).toEqual({
      ok: false,
      reason: 'SEAT_LOCKED',
      seatIds: [11],
    })
  })
})
