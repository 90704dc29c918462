import { createEvent, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  eventKeys,
  publishSaleSettings,
  recountSoldOut,
  type SaleSettings,
  saleStateAt,
  syncSoldOut,
} from '../src/index.js'
import { readSoldOut, recordSoldOut } from '../src/queue-epochs.repository.js'
import { makeQueue } from '../src/testing.js'
import { sleep } from './helpers.js'

const env = useTestEnv()

const settings = (updatedAt: number, admitPerSecond: number, soldOut = false): SaleSettings => ({
  updatedAt: new Date(updatedAt),
  opensAt: null,
  closesAt: null,
  preQueueMinutes: 15,
  paused: false,
  soldOut,
  maxActive: null,
  admitPerSecond,
  activeTtlSeconds: null,
  waitingIdleSeconds: null,
})

describe('publishing sale settings', () => {
  it('a read older than the one published changes nothing; the sold-out flag is not a setting', async () => {
    const keys = eventKeys(env.keyPrefix, 424242)
    await env.redis.hset(keys.sale, 'soldOut', '1')
    await publishSaleSettings(env.redis, keys, settings(2_000, 40))
    // A gateway's refresh that read EVENT before the operator's change lands late.
    await publishSaleSettings(env.redis, keys, settings(1_000, 5))
    expect(await env.redis.hmget(keys.sale, 'admitPerSecond', 'soldOut')).toEqual(['40', '1'])
    // A newer read (or the same one again) is written; fields it lacks are removed.
    await publishSaleSettings(env.redis, keys, { ...settings(2_000, 40), admitPerSecond: null, paused: true })
    expect(await env.redis.hmget(keys.sale, 'admitPerSecond', 'paused', 'soldOut')).toEqual([null, '1', '1'])
  })
})

describe('the sold-out flag', () => {
  beforeAll(async () => {
    await seedCatalog(env.db)
  })

  it('recounts of one event run one at a time: a refund’s recount waits for the sale’s, and the flag ends as the seats are', async () => {
    const eventId = await createEvent(env.db, 'recounts one at a time')
    const keys = eventKeys(env.keyPrefix, eventId)
    const counted: string[] = []
    let letSaleFinish = () => {}
    const saleMayFinish = new Promise<void>((resolve) => {
      letSaleFinish = resolve
    })
    let saleIsCounting = () => {}
    const saleCounting = new Promise<void>((resolve) => {
      saleIsCounting = resolve
    })
    // The copy that sold the last seat counts: sold out (slowly).
    const sale = recountSoldOut(env.db, env.redis, keys, async () => {
      counted.push('sale')
      saleIsCounting()
      await saleMayFinish
      return true
    })
    await saleCounting
    // A refund on another copy puts a seat back and recounts meanwhile: it counts only after the sale's recount.
    const refund = recountSoldOut(env.db, env.redis, keys, async () => {
      counted.push('refund')
      return false
    })
    await sleep(300)
    expect(counted).toEqual(['sale'])
    letSaleFinish()
    await Promise.all([sale, refund])
    expect(counted).toEqual(['sale', 'refund'])
    expect(await readSoldOut(env.db, eventId)).toBe(false)
    expect(await env.redis.hget(keys.sale, 'soldOut')).toBeNull()
  })

  it('a write to Redis that lands after a newer one is put right from MySQL', async () => {
    const eventId = await createEvent(env.db, 'stale flag put right')
    const keys = eventKeys(env.keyPrefix, eventId)
    await recordSoldOut(env.db, eventId, false)
    // An older "sold out" from a slower copy landed last.
    await env.redis.hset(keys.sale, 'soldOut', '1')
    expect(await syncSoldOut(env.db, env.redis, keys)).toBe(false)
    expect(await env.redis.hget(keys.sale, 'soldOut')).toBeNull()
    await recordSoldOut(env.db, eventId, true)
    expect(await syncSoldOut(env.db, env.redis, keys)).toBe(true)
    expect(await env.redis.hget(keys.sale, 'soldOut')).toBe('1')
    // Told already: nothing to tell again.
    expect(await syncSoldOut(env.db, env.redis, keys)).toBe(false)
  })
})

describe('saleStateAt (the state outside a script)', () => {
  beforeAll(async () => {
    await seedCatalog(env.db)
  })

  it('agrees with includes/sale.lua (the status script) on every state and on which wins', async () => {
    const { queue } = makeQueue(env)
    const now = Date.now()
    const hour = 3_600_000
    const cases: Array<[string, Partial<SaleSettings>]> = [
      ['no window', {}],
      ['opens in 2 h, pre-queue 15 min', { opensAt: new Date(now + 2 * hour) }],
      ['opens in 10 min, pre-queue 15 min', { opensAt: new Date(now + hour / 6) }],
      ['opened an hour ago', { opensAt: new Date(now - hour) }],
      ['closed an hour ago', { closesAt: new Date(now - hour) }],
      ['closes in an hour', { closesAt: new Date(now + hour) }],
      ['paused', { paused: true }],
      ['sold out', { soldOut: true }],
      ['sold out and paused', { soldOut: true, paused: true }],
      ['closed, sold out and paused', { closesAt: new Date(now - hour), soldOut: true, paused: true }],
      ['opens in 2 h, sold out', { opensAt: new Date(now + 2 * hour), soldOut: true }],
      ['pre-queue, paused', { opensAt: new Date(now + hour / 6), paused: true }],
    ]
    const seen: Record<string, [string, string]> = {}
    for (const [name, facts] of cases) {
      const eventId = await createEvent(env.db, `state: ${name}`)
      const keys = eventKeys(env.keyPrefix, eventId)
      // Newer than the EVENT row the first status call rebuilt the queue from.
      const s = { ...settings(now + 10 * hour, 10), ...facts }
      await queue.status(eventId) // the queue exists (its marker), so the settings below stay as written
      await publishSaleSettings(env.redis, keys, s)
      if (s.soldOut) await env.redis.hset(keys.sale, 'soldOut', '1')
      const lua = (await queue.status(eventId))?.state as string
      seen[name] = [saleStateAt(s, Date.now()), lua]
    }
    for (const [name, [ts, lua]] of Object.entries(seen)) expect(ts, name).toBe(lua)
    expect(new Set(Object.values(seen).map(([ts]) => ts))).toEqual(
      new Set(['SCHEDULED', 'PRE_QUEUE', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED']),
    )
  })
})
