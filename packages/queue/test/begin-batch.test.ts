import { insertAccounts, scriptCalls, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PurchaseSeats } from '../src/index.js'
import { instantAdmission } from '../src/testing.js'
import { makeQueue, readyTokens } from './helpers.js'

// A private redis-server: the test counts the scripts the server runs.
const env = useTestEnv({ privateRedis: true })
let eventId: number
let tokens: string[]

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  const accounts = await insertAccounts(env.db, 205, { prefix: 'begin-batch' })
  const { queue } = makeQueue(env, instantAdmission)
  const ready = await readyTokens(queue, eventId, accounts)
  tokens = accounts.map((id) => ready.get(id) as string)
})

const order = (...seatIds: number[]): PurchaseSeats => ({ scheduleId: 1, seatIds, lockTtlMs: 10_000 })

describe('purchase starts of one event, sent together', () => {
  it('starts asked for in one turn go in one script and are answered as if each ran alone, in order', async () => {
    const { queue } = makeQueue(env)
    const [a, b, c, d] = tokens as [string, string, string, string]
    const before = await scriptCalls(env.redis)
    const results = await Promise.all([
      queue.beginPurchase(a, 'a1', 10_000, order(1, 2)),
      // The same token again: the first start's claim holds it.
      queue.beginPurchase(a, 'a2', 10_000, order(3)),
      // Seat 2 is the first start's now; seat 3 is free (the BUSY start locked nothing).
      queue.beginPurchase(b, 'b', 10_000, order(2, 3)),
      queue.beginPurchase(c, 'c', 10_000, order(3)),
      // A well-formed token Redis does not know, and a malformed one (answered without Redis).
      queue.beginPurchase(`${eventId}.AAAAAAAAAAAAAAAAAAAAAA`, 'x', 10_000, order(4)),
      queue.beginPurchase('garbage', 'x', 10_000, order(4)),
      // A claim without seats (queue.claim) shares the script too.
      queue.claim(d, 'd', 10_000),
    ])
    expect(await scriptCalls(env.redis)).toBe(before + 1)
    expect(results.map((result) => (result.ok ? 'OK' : result.reason))).toEqual([
      'OK',
      'BUSY',
      'SEAT_LOCKED',
      'OK',
      'MISSING',
      'MISSING',
      'OK',
    ])
    expect(results[2]).toEqual({ ok: false, reason: 'SEAT_LOCKED', seatIds: [2] })
    expect(results[0]).toMatchObject({ ok: true, state: { token: a, status: 'READY' } })
    expect(results[3]).toMatchObject({ ok: true, state: { token: c, status: 'READY' } })
    // Each start that won holds exactly its own seats and claim.
    expect(await queue.abortPurchase(a, 'a1', order(1, 2))).toBe(true)
    expect(await queue.abortPurchase(c, 'c', order(3))).toBe(true)
    expect(await queue.abortPurchase(b, 'b', order(2, 3))).toBe(false)
    expect(await queue.releaseClaim(d, 'd')).toBe(true)
  })

  it('an attempt Redis refuses fails alone: the others of its batch are answered as usual', async () => {
    const { queue } = makeQueue(env)
    const [a, b, c] = [tokens[0], tokens[1], tokens[2]] as [string, string, string]
    const before = await scriptCalls(env.redis)
    const results = await Promise.allSettled([
      queue.beginPurchase(a, 'a', 10_000, order(70)),
      // SET … PX 1.5: Redis refuses a lock TTL that is not an integer.
      queue.beginPurchase(b, 'b', 10_000, { scheduleId: 1, seatIds: [71], lockTtlMs: 1.5 }),
      queue.beginPurchase(c, 'c', 10_000, order(71)),
    ])
    expect(await scriptCalls(env.redis)).toBe(before + 1)
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { ok: true } })
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/^begin-purchase failed in Redis: .*integer/) },
    })
    // b failed at its lock, before its claim: seat 71 and its token are free for the next.
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { ok: true } })
    expect((await queue.claim(b, 'b2', 10_000)).ok).toBe(true)
    expect(await queue.releaseClaim(b, 'b2')).toBe(true)
    expect(await queue.abortPurchase(a, 'a', order(70))).toBe(true)
    expect(await queue.abortPurchase(c, 'c', order(71))).toBe(true)
  })

  it('200 racers for one seat in one turn: one script, exactly one wins, every other one is told the seat is locked', async () => {
    const { queue } = makeQueue(env)
    const racers = tokens.slice(5, 205)
    const before = await scriptCalls(env.redis)
    const results = await Promise.all(
      racers.map((token, i) => queue.beginPurchase(token, `racer-${i}`, 10_000, order(50))),
    )
    // 200 starts: BEGIN_BATCH_MAX (200) per script, so one.
    expect(await scriptCalls(env.redis)).toBe(before + 1)
    expect(results.filter((result) => result.ok)).toHaveLength(1)
    // The first asked is the first served.
    expect(results[0]?.ok).toBe(true)
    expect(results.slice(1)).toEqual(
      Array.from({ length: 199 }, () => ({ ok: false, reason: 'SEAT_LOCKED', seatIds: [50] })),
    )
    // One more, asked in a later turn: a script of its own, and still refused.
    expect(await queue.beginPurchase(racers[1] as string, 'late', 10_000, order(50))).toEqual({
      ok: false,
      reason: 'SEAT_LOCKED',
      seatIds: [50],
    })
    expect(await scriptCalls(env.redis)).toBe(before + 2)
    expect(await queue.abortPurchase(racers[0] as string, 'racer-0', order(50))).toBe(true)
  })

  it('a burst past the batch size takes several scripts, with every answer right', async () => {
    const { queue } = makeQueue(env)
    // 201 starts of distinct seats (tokens reused: each start below is a different owner, so
    // a token's second start in the burst is BUSY behind its first).
    const starts = Array.from({ length: 201 }, (_, i) => ({
      token: tokens[i % 100] as string,
      owner: `wide-${i}`,
      seat: 1_000 + i,
    }))
    const before = await scriptCalls(env.redis)
    const results = await Promise.all(
      starts.map((start) => queue.beginPurchase(start.token, start.owner, 10_000, order(start.seat))),
    )
    expect(await scriptCalls(env.redis)).toBe(before + 2)
    results.forEach((result, i) => {
      if (i < 100) expect(result.ok, `start ${i}`).toBe(true)
      else expect(result, `start ${i}`).toEqual({ ok: false, reason: 'BUSY' })
    })
  })
})
