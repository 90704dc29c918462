import { insertAccounts, scriptCalls, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClaimResult, type PurchaseSeats, QueueService } from '../src/index.js'
import { instantAdmission } from '../src/testing.js'
import { fastSettings, makeQueue, readyTokens } from './helpers.js'

// A private redis-server: the test counts the scripts the server runs, and the last
// test FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
let eventId: number
let tokens: string[]
/** Accounts with no token yet, for tokens in other states than READY. */
let spare: string[]

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  const accounts = await insertAccounts(env.db, 210, { prefix: 'begin-batch' })
  spare = accounts.slice(205)
  const { queue } = makeQueue(env, instantAdmission)
  const ready = await readyTokens(queue, eventId, accounts.slice(0, 205))
  tokens = accounts.slice(0, 205).map((id) => ready.get(id) as string)
})

const statusInMysql = async (token: string) =>
  (await env.db.selectFrom('QUEUE_TOKEN').select('status').where('token', '=', token).executeTakeFirst())
    ?.status

/** Each start's answer in one word: OK, or its refusal's reason. */
const outcomes = (results: readonly ClaimResult[]) =>
  results.map((result) => (result.ok ? 'OK' : result.reason))

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
    expect(outcomes(results)).toEqual(['OK', 'BUSY', 'SEAT_LOCKED', 'OK', 'MISSING', 'MISSING', 'OK'])
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

  it('every other answer inside one batch: sold, expired, waiting, unmirrored, a lapsed claim taken over', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const [sold, taker, locker, late] = [tokens[200], tokens[201], tokens[202], tokens[203]] as [
      string,
      string,
      string,
      string,
    ]
    // Seat 90 sold (and its buyer's token EXPIRED COMPLETED).
    expect((await queue.beginPurchase(sold, 'sale', 10_000, order(90))).ok).toBe(true)
    expect(await queue.finishPurchase(sold, 'sale', new Date(), order(90))).toBe(true)
    // A token admitted but not written to MySQL yet (nobody read it), then one still waiting.
    const unmirrored = (await queue.join(eventId, spare[0] as string)).ticket.token
    expect((await queue.admit(eventId)).admitted).toBe(1)
    const waiting = (await queue.join(eventId, spare[1] as string)).ticket.token
    expect(await statusInMysql(unmirrored)).toBe('WAITING')
    // A dead attempt: its claim lapses, its locks on 95 and 96 outlive it.
    expect(
      (await queue.beginPurchase(taker, 'dead', 50, { scheduleId: 1, seatIds: [95, 96], lockTtlMs: 60_000 }))
        .ok,
    ).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 80))

    const before = await scriptCalls(env.redis)
    const results = await Promise.all([
      // 90 is sold, 91 free: only 90 is named.
      queue.beginPurchase(late, 'l1', 10_000, order(90, 91)),
      queue.beginPurchase(sold, 'again', 10_000, order(92)),
      queue.beginPurchase(waiting, 'w', 10_000, order(93)),
      queue.beginPurchase(unmirrored, 'u', 10_000, order(94)),
      // Before the taker's retry, 95 is still the dead attempt's.
      queue.beginPurchase(locker, 'k1', 10_000, order(95)),
      queue.beginPurchase(taker, 'retry', 10_000, order(95, 96)),
      // After it, 96 is the retry's.
      queue.beginPurchase(locker, 'k2', 10_000, order(96)),
      // A start refused earlier in the batch claimed nothing: the same token starts again.
      queue.beginPurchase(late, 'l2', 10_000, order(91)),
    ])
    expect(outcomes(results)).toEqual([
      'SEAT_TAKEN',
      'EXPIRED',
      'NOT_READY',
      'OK',
      'SEAT_LOCKED',
      'OK',
      'SEAT_LOCKED',
      'OK',
    ])
    expect(results[0]).toEqual({ ok: false, reason: 'SEAT_TAKEN', seatIds: [90] })
    expect(results[4]).toEqual({ ok: false, reason: 'SEAT_LOCKED', seatIds: [95] })
    expect(results[6]).toEqual({ ok: false, reason: 'SEAT_LOCKED', seatIds: [96] })
    // The batch's one script, then for the unmirrored start alone: the token check that
    // wrote its admission to MySQL, the script that clears its mark, and its start again.
    expect(await scriptCalls(env.redis)).toBe(before + 4)
    expect(await statusInMysql(unmirrored)).toBe('READY')
    // Each start that won holds exactly its seats and claim; the dead attempt holds nothing.
    expect(await queue.abortPurchase(taker, 'dead', order(95, 96))).toBe(false)
    expect(await queue.abortPurchase(taker, 'retry', order(95, 96))).toBe(true)
    expect(await queue.abortPurchase(unmirrored, 'u', order(94))).toBe(true)
    expect(await queue.abortPurchase(late, 'l1', order(91))).toBe(false)
    expect(await queue.abortPurchase(late, 'l2', order(91))).toBe(true)
    expect(await queue.abortPurchase(locker, 'k1', order(95))).toBe(false)
  })

  it('a batch that finds the queue gone (FLUSHALL) waits for one rebuild from MySQL and is answered as before', async () => {
    const rebuilds: unknown[] = []
    const queue = new QueueService({
      redis: env.redis,
      db: env.db,
      prefix: env.keyPrefix,
      settings: { ...fastSettings, ...instantAdmission },
      onRecovered: (summary) => rebuilds.push(summary),
    })
    const [a, b, c] = [tokens[10], tokens[11], tokens[12]] as [string, string, string]
    await env.redis.flushall()
    const results = await Promise.all([
      queue.beginPurchase(a, 'a', 10_000, order(80)),
      queue.beginPurchase(b, 'b', 10_000, order(80)),
      queue.beginPurchase(c, 'c', 10_000, order(81)),
      queue.beginPurchase(a, 'a2', 10_000, order(82)),
    ])
    expect(outcomes(results)).toEqual(['OK', 'SEAT_LOCKED', 'OK', 'BUSY'])
    expect(results[0]).toMatchObject({ ok: true, state: { token: a, status: 'READY' } })
    expect(rebuilds).toHaveLength(1)
    expect(await queue.abortPurchase(a, 'a', order(80))).toBe(true)
    expect(await queue.abortPurchase(c, 'c', order(81))).toBe(true)
  })
})
