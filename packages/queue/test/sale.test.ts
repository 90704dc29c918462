import { useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { eventKeys, publishSaleSettings, type SaleSettings } from '../src/index.js'

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
