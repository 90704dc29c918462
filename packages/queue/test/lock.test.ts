import { useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { withLock, withLocks } from '../src/lock.js'
import { sleep } from './helpers.js'

const env = useTestEnv()
const key = (name: string) => `${env.keyPrefix}lock-test:${name}`

describe('withLocks: several keys, all or nothing', () => {
  it('takes every key for the work and releases them all after it', async () => {
    const keys = ['a1', 'a2', 'a3'].map(key)
    const outcome = await withLocks(env.redis, keys, 'me', 5_000, async () =>
      Promise.all(keys.map((k) => env.redis.get(k))),
    )
    expect(outcome).toEqual({ locked: true, value: ['me', 'me', 'me'] })
    expect(await env.redis.exists(...keys)).toBe(0)
  })

  it('at a key held by another owner: runs nothing, gives back what it took, leaves the other lock alone', async () => {
    const keys = ['b1', 'b2', 'b3'].map(key)
    await env.redis.set(keys[1] as string, 'other', 'PX', 5_000)
    let ran = false
    const outcome = await withLocks(env.redis, keys, 'me', 5_000, async () => {
      ran = true
    })
    expect(outcome).toEqual({ locked: false, busyKey: keys[1] })
    expect(ran).toBe(false)
    expect(await env.redis.get(keys[0] as string)).toBeNull()
    expect(await env.redis.get(keys[1] as string)).toBe('other')
    expect(await env.redis.get(keys[2] as string)).toBeNull()
  })

  it('releases every key when the work throws', async () => {
    const keys = ['c1', 'c2'].map(key)
    await expect(
      withLocks(env.redis, keys, 'me', 5_000, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await env.redis.exists(...keys)).toBe(0)
  })

  it('keeps every key alive while the work runs past the TTL', async () => {
    const keys = ['d1', 'd2', 'd3'].map(key)
    const outcome = await withLocks(env.redis, keys, 'me', 300, async () => {
      await sleep(1_000)
      return Promise.all(keys.map((k) => env.redis.get(k)))
    })
    expect(outcome).toEqual({ locked: true, value: ['me', 'me', 'me'] })
  })

  it('two callers with overlapping sets in one order: exactly one gets them, 50 times over', async () => {
    for (let round = 0; round < 50; round += 1) {
      const keys = [`e${round}-1`, `e${round}-2`].map(key)
      const outcomes = await Promise.all(
        ['x', 'y'].map((owner) => withLocks(env.redis, keys, owner, 5_000, async () => sleep(5))),
      )
      expect(outcomes.filter((o) => o.locked)).toHaveLength(1)
      expect(await env.redis.exists(...keys)).toBe(0)
    }
  })

  it('withLock is the one-key case', async () => {
    await env.redis.set(key('f'), 'other', 'PX', 5_000)
    expect(await withLock(env.redis, key('f'), 'me', 5_000, async () => 1)).toEqual({ locked: false })
    expect(await withLock(env.redis, key('g'), 'me', 5_000, async () => 1)).toEqual({
      locked: true,
      value: 1,
    })
  })
})
