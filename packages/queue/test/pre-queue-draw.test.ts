import {
  createEvent,
  insertAccounts,
  lockWaiters,
  scriptCalls,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { joinArgs, newToken, Reply } from '../src/index.js'
import { beginNextEpoch } from '../src/queue-epochs.repository.js'
import { readTokenState } from '../src/testing.js'
import { makeQueue, openSaleAt } from './helpers.js'

/*
 * The pre-queue draw at the size the product is for, and in the slices it is applied in.
 * Every fan's drawn place is committed to QUEUE_TOKEN first, then written to Redis a slice of
 * fans per script run (draw-3.lua): one script over 100,000 fans held Redis for seconds, and
 * put one mirror record per fan in the stream, past the backlog bound that holds joins (503)
 * and admission back until the mirror has written them all again.
 * The 80,000-fan draw holds Redis for a second or more, so the file has a Redis of its own.
 */

const env = useTestEnv({ privateRedis: true })

beforeAll(async () => {
  await seedCatalog(env.db)
})

describe('a pre-queue of 80,000 fans', () => {
  it('is drawn at the opening in slices: every fan gets one of the places 1..80,001, each place once', async () => {
    const FANS = 80_000
    const [account] = (await insertAccounts(env.db, 1, { prefix: 'bigq' })) as [string]
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'big pre-queue')
    const keys = queue.keys(eventId)
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    // One join through the queue (it sets the queue up), the rest by its own script, pipelined.
    expect((await queue.join(eventId, account)).created).toBe(true)
    for (let start = 0; start < FANS; start += 5_000) {
      const pipeline = env.redis.pipeline()
      for (let i = start; i < start + 5_000; i += 1) {
        // No mirror runs here: the backlog bound is lifted so every join is taken.
        pipeline.queueJoin(...joinArgs(keys, newToken(eventId), `bigq-fan-${i}`, 1_000_000_000))
      }
      const replies = (await pipeline.exec()) ?? []
      expect(replies.every(([error, reply]) => !error && (reply as unknown[])[0] === Reply.CREATED)).toBe(
        true,
      )
    }

    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    const runsBefore = await scriptCalls(env.redis)
    expect((await queue.admit(eventId)).drawn).toBe(FANS + 1)
    // The admission script, then one draw script per 1,000 fans (81 slices).
    expect((await scriptCalls(env.redis)) - runsBefore).toBeGreaterThanOrEqual(1 + 81)
    expect(await env.redis.hget(keys.sale, 'drawn')).toBe('1')
    const scores = (await env.redis.zrange(keys.waiting, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1)
    const places = new Set(scores.map(Number))
    expect(places.size).toBe(FANS + 1)
    expect(Math.min(...places)).toBe(1)
    expect(Math.max(...places)).toBe(FANS + 1)
  }, 120_000)
})

describe('between the slices of a draw', () => {
  it('fans rejoin to their own tickets though two may hold one place, a leave holds, and no record piles up in the mirror stream', async () => {
    const FANS = 600
    const accounts = await insertAccounts(env.db, FANS + 1, { prefix: 'slices' })
    const fans = accounts.slice(0, FANS)
    const late = accounts[FANS] as string
    let midDraw: (() => Promise<void>) | undefined
    // Slices of 50 fans; a backlog bound far below the pre-queue's size.
    const { queue, mirror } = makeQueue(
      env,
      {},
      {
        draw: { slice: 50, afterSlice: () => midDraw?.() ?? Promise.resolve() },
        tuning: { mirrorMaxBacklog: 100 },
      },
    )
    const eventId = await createEvent(env.db, 'pre-queue in slices')
    const keys = queue.keys(eventId)
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    const tokenOf = new Map<string, string>()
    for (let start = 0; start < FANS; start += 100) {
      const joined = await Promise.all(fans.slice(start, start + 100).map((id) => queue.join(eventId, id)))
      for (const [i, { ticket }] of joined.entries()) tokenOf.set(fans[start + i] as string, ticket.token)
    }
    // Every join wrote its own row and deleted its record; what is left, the mirror writes.
    await mirror.drain(eventId)
    expect(await env.redis.xlen(keys.stream)).toBe(0)

    // A fan of the last slices (provisional places 501..600), not placed yet at the look.
    const leaver = tokenOf.get(fans[FANS - 1] as string) as string
    let looks = 0
    let shared = 0
    midDraw = async () => {
      looks += 1
      if (looks !== 6) return
      // After 6 of 12 slices: places are half drawn, so many a place is held twice.
      const scores = (await env.redis.zrange(keys.waiting, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1)
      shared = scores.length - new Set(scores).size
      const rejoined = await Promise.all(fans.map((id) => queue.join(eventId, id)))
      expect(rejoined.map(({ created }) => created)).toEqual(fans.map(() => false))
      expect(rejoined.map(({ ticket }) => ticket.token)).toEqual(fans.map((id) => tokenOf.get(id)))
      expect(
        rejoined.every(({ ticket }) => ticket.queueState === 'PRE_QUEUE' && ticket.position === null),
      ).toBe(true)
      expect(await queue.leave(leaver)).toBe('LEFT')
    }
    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    const tick = await queue.admit(eventId)
    expect(looks).toBe(11)
    expect(shared).toBeGreaterThan(0)
    expect(tick.drawn).toBe(FANS - 1)
    expect(await env.redis.hget(keys.sale, 'drawn')).toBe('1')

    // Each fan still waiting holds its own place, the one QUEUE_TOKEN has, under its joining version.
    const stayed = fans.slice(0, -1).map((id) => tokenOf.get(id) as string)
    const states = await Promise.all(stayed.map((token) => readTokenState(env.redis, keys, token)))
    const rows = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['token', 'position', 'version'])
      .where('event_id', '=', eventId)
      .execute()
    const rowOf = new Map(rows.map((row) => [row.token, row]))
    expect(new Set(states.map((state) => state?.place)).size).toBe(FANS - 1)
    expect(states.map((state) => ({ place: state?.place, version: state?.version }))).toEqual(
      stayed.map((token) => ({ place: rowOf.get(token)?.position, version: 1 })),
    )
    expect(await readTokenState(env.redis, keys, leaver)).toMatchObject({ status: 'EXPIRED' })

    // No record per fan in the stream (the one there is the leave's): a join after the
    // opening is taken, and admission starts.
    expect(await env.redis.xlen(keys.stream)).toBe(1)
    const after = await queue.join(eventId, late)
    expect(after.created).toBe(true)
    expect(after.ticket.queueState).toBe('OPEN')
    expect((await queue.admit(eventId)).admitted).toBeGreaterThan(0)
  }, 60_000)

  it('a copy that stops mid-draw leaves an order the next one completes, durable for fans whose rows the mirror had not written', async () => {
    const accounts = await insertAccounts(env.db, 200, { prefix: 'unwritten' })
    let stopAfter = 2
    const stopping = makeQueue(
      env,
      {},
      {
        draw: {
          slice: 50,
          afterSlice: async () => {
            stopAfter -= 1
            if (stopAfter === 0) throw new Error('this copy stops here')
          },
        },
      },
    )
    const { queue, mirror } = makeQueue(env, {}, { draw: { slice: 50 } })
    const eventId = await createEvent(env.db, 'pre-queue, rows behind')
    const keys = queue.keys(eventId)
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    // Half join as a fan does (row written before the answer), half as if their joins timed
    // out waiting for MySQL: only the join's record in the stream, for the mirror to write.
    const tokens: string[] = []
    for (const id of accounts.slice(0, 100)) tokens.push((await queue.join(eventId, id)).ticket.token)
    for (const id of accounts.slice(100)) {
      const token = newToken(eventId)
      expect(((await env.redis.queueJoin(...joinArgs(keys, token, id, 1_000_000))) as unknown[])[0]).toBe(
        Reply.CREATED,
      )
      tokens.push(token)
    }
    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    await expect(stopping.queue.admit(eventId)).rejects.toThrow('this copy stops here')
    expect(await env.redis.hget(keys.sale, 'drawn')).toBeNull()
    // The next tick finds the order recorded and applies it, the two slices already applied included.
    expect((await queue.admit(eventId)).drawn).toBe(200)
    expect(await env.redis.hget(keys.sale, 'drawn')).toBe('1')

    const rows = async () =>
      new Map(
        (
          await env.db
            .selectFrom('QUEUE_TOKEN')
            .select(['token', 'position', 'version'])
            .where('event_id', '=', eventId)
            .execute()
        ).map((row) => [row.token, { place: row.position, version: row.version }]),
      )
    const states = await Promise.all(tokens.map((token) => readTokenState(env.redis, keys, token)))
    const held = states.map((state) => ({ place: state?.place, version: state?.version }))
    expect(held.map(({ place }) => place).sort((a, b) => Number(a) - Number(b))).toEqual(
      tokens.map((_, i) => i + 1),
    )
    // Every fan's drawn place is in QUEUE_TOKEN without the mirror, under the version Redis has;
    // the joins' records the mirror writes afterwards change none of them.
    const before = await rows()
    expect(tokens.map((token) => before.get(token))).toEqual(held)
    await mirror.drain(eventId)
    const after = await rows()
    expect(tokens.map((token) => after.get(token))).toEqual(held)
  }, 60_000)

  it('joins of the event commit while the draw writes its places (it holds the epoch row in share mode), repeat joins too', async () => {
    const accounts = await insertAccounts(env.db, 101, { prefix: 'alongside' })
    let joinedMeanwhile: { created: boolean; token: string } | undefined
    let rejoinedMeanwhile: { created: boolean; token: string } | undefined
    const { queue } = makeQueue(
      env,
      {},
      {
        draw: {
          beforeRecorded: async () => {
            // Every place written (every pre-queue fan's row locked by the draw's transaction,
            // still open): a fan arriving at the opening, and one of the pre-queue joining again.
            const [joined, rejoined] = await Promise.all([
              queue.join(eventId, accounts[100] as string),
              queue.join(eventId, accounts[0] as string),
            ])
            joinedMeanwhile = { created: joined.created, token: joined.ticket.token }
            rejoinedMeanwhile = { created: rejoined.created, token: rejoined.ticket.token }
          },
        },
      },
    )
    const eventId = await createEvent(env.db, 'joins alongside the draw')
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    const first = (await queue.join(eventId, accounts[0] as string)).ticket.token
    for (const id of accounts.slice(1, 100)) await queue.join(eventId, id)
    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    expect((await queue.admit(eventId)).drawn).toBe(100)
    // The repeat join read its row without locking it (written already): its own ticket.
    expect(rejoinedMeanwhile).toEqual({ created: false, token: first })
    // Answered (so committed) before the draw was: behind the whole pre-queue.
    expect(joinedMeanwhile?.created).toBe(true)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select('position')
      .where('token', '=', joinedMeanwhile?.token as string)
      .executeTakeFirst()
    expect(row?.position).toBe(101)
  })

  it('a fan who leaves while the draw writes waits for it, and the joins arriving meanwhile do not wait behind the leave', async () => {
    const accounts = await insertAccounts(env.db, 51, { prefix: 'leave-in-draw' })
    let leaving: Promise<string> | undefined
    let joinedMeanwhile: boolean | undefined
    const { queue } = makeQueue(
      env,
      {},
      {
        draw: {
          beforeRecorded: async () => {
            // The leaver's row is locked by the draw's open transaction: its LEFT waits for it.
            leaving = queue.leave(leaverToken)
            await waitFor(async () => (await lockWaiters(env)) === 1, 'the leave waits for the draw')
            // A fan arriving at the opening: answered before the draw commits, so not behind the leave.
            joinedMeanwhile = (await queue.join(eventId, accounts[50] as string)).created
            expect(await lockWaiters(env)).toBe(1)
          },
        },
      },
    )
    const eventId = await createEvent(env.db, 'leave during the draw')
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    const leaverToken = (await queue.join(eventId, accounts[0] as string)).ticket.token
    for (const id of accounts.slice(1, 50)) await queue.join(eventId, id)
    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    expect((await queue.admit(eventId)).drawn).toBe(49)
    expect(joinedMeanwhile).toBe(true)
    expect(await leaving).toBe('LEFT')
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['status', 'reason'])
      .where('token', '=', leaverToken)
      .executeTakeFirst()
    expect(row).toEqual({ status: 'EXPIRED', reason: 'LEFT' })
  })

  it('a rebuild asked for while the draw writes runs once the draw is recorded (undone once in the deadlock, and run again)', async () => {
    const accounts = await insertAccounts(env.db, 50, { prefix: 'rebuild-in-draw' })
    let rebuilt: Promise<number> | undefined
    const { queue } = makeQueue(
      env,
      {},
      {
        draw: {
          beforeRecorded: async () => {
            // A rebuild asks for the epoch row exclusively, behind the draw's share lock.
            rebuilt = beginNextEpoch(env.db, eventId)
            await waitFor(async () => (await lockWaiters(env)) === 1, 'the rebuild waits for the draw')
          },
        },
      },
    )
    const eventId = await createEvent(env.db, 'rebuild during the draw')
    await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
    for (const id of accounts) await queue.join(eventId, id)
    const [{ epoch }] = (await env.db
      .selectFrom('QUEUE_EPOCH')
      .select('epoch')
      .where('event_id', '=', eventId)
      .execute()) as [{ epoch: number }]
    await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
    // The draw asks for the row exclusively last: InnoDB undoes the rebuild (it changed nothing).
    expect((await queue.admit(eventId)).drawn).toBe(50)
    expect(await rebuilt).toBe(epoch + 1)
    const drawn = await env.db
      .selectFrom('QUEUE_EPOCH')
      .select(['epoch', 'drawn_at'])
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    expect(drawn?.epoch).toBe(epoch + 1)
    expect(drawn?.drawn_at).toBeInstanceOf(Date)
  })
})
