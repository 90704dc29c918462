import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { joinArgs, newToken, Reply } from '../src/index.js'
import { makeQueue, openSaleAt } from './helpers.js'

/*
 * A pre-queue of the size the product is for: 80,000 fans waiting for the opening. The draw
 * hands all of them their places in one script; its arguments (token, place per fan) once
 * went to ioredis spread into one call, and at 70,000 fans that call overflowed the stack
 * (RangeError), every tick: the sale stayed in PRE_QUEUE and nobody was ever admitted.
 * The draw's script holds Redis for seconds at this size, so the file has a Redis of its own.
 */

const FANS = 80_000
const env = useTestEnv({ privateRedis: true })
let account: string

beforeAll(async () => {
  await seedCatalog(env.db)
  ;[account] = (await insertAccounts(env.db, 1, { prefix: 'bigq' })) as [string]
})

describe('a pre-queue of 80,000 fans', () => {
  it('is drawn at the opening: every fan gets one of the places 1..80,001, each place once', async () => {
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
    expect((await queue.admit(eventId)).drawn).toBe(FANS + 1)
    expect(await env.redis.hget(keys.sale, 'drawn')).toBe('1')
    const scores = (await env.redis.zrange(keys.waiting, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1)
    const places = new Set(scores.map(Number))
    expect(places.size).toBe(FANS + 1)
    expect(Math.min(...places)).toBe(1)
    expect(Math.max(...places)).toBe(FANS + 1)
  }, 120_000)
})
