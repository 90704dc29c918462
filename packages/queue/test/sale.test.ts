import { createEvent, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  eventKeys,
  publishSaleSettings,
  recountSoldOut,
  type SaleSettings,
  syncSoldOut,
} from '../src/index.js'
import { readSoldOut, recordSoldOut } from '../src/queue-epochs.repository.js'
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
