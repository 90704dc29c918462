import { useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { withLock } from '../src/lock.js'
import { sleep } from './helpers.js'

const env = useTestEnv()
const key = (name: string) => `${env.keyPrefix}lock-test:${name}`

describe('withLock: one owner at a time', () => {
  it('holds the key for the work and releases it after', async () => {
    const lock = key('a')
    const outcome = await withLock(env.redis, lock, 'me', 5_000, async () => env.redis.get(lock))
    expect(outcome).toEqual({ locked: true, value: 'me' })
    expect(await env.redis.exists(lock)).toBe(0)
  })

  it('at a key held by another owner: runs nothing and leaves the other lock alone', async () => {
    const lock = key('b')
    await env.redis.set(lock, 'other', 'PX', 5_000)
    let ran = false
    const outcome = await withLock(env.redis, lock, 'me', 5_000, async () => {
      ran = true
    })
    expect(outcome).toEqual({ locked: false })
    expect(ran).toBe(false)
    expect(await env.redis.get(lock)).toBe('other')
  })

  it('releases the key when the work throws', async () => {
    const lock = key('c')
    await expect(
      withLock(env.redis, lock, 'me', 5_000, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await env.redis.exists(lock)).toBe(0)
  })

  it('keeps the key alive while the work runs past the TTL', async () => {
    const lock = key('d')
    const outcome = await withLock(env.redis, lock, 'me', 300, async () => {
      await sleep(1_000)
      return env.redis.get(lock)
    })
    expect(outcome).toEqual({ locked: true, value: 'me' })
    expect(await env.redis.exists(lock)).toBe(0)
  })

  it('two callers at once: exactly one runs, 50 times over', async () => {
    for (let round = 0; round < 50; round += 1) {
      const lock = key(`e${round}`)
      const ran: string[] = []
      const outcomes = await Promise.all(
        ['x', 'y'].map((owner) =>
          withLock(env.redis, lock, owner, 5_000, async () => {
            ran.push(owner)
            await sleep(5)
          }),
        ),
      )
      expect(outcomes.filter((o) => o.locked)).toHaveLength(1)
      expect(ran).toHaveLength(1)
      expect(await env.redis.exists(lock)).toBe(0)
    }
  })

  it('a holder whose lock was taken over does not keep the new owner’s lock alive', async () => {
    const lock = key('f')
    const outcome = await withLock(env.redis, lock, 'slow', 300, async () => {
      // As if 'slow' had stalled past its TTL and 'other' took the free lock for 600 ms.
      await env.redis.set(lock, 'other', 'PX', 600)
      await sleep(1_000)
      return env.redis.get(lock)
    })
    // Had 'slow' extended it, the other owner's lock would still be there.
    expect(outcome).toEqual({ locked: true, value: null })
  })

  it('a holder whose lock was taken over does not release the new owner’s lock', async () => {
    const lock = key('g')
    const outcome = await withLock(env.redis, lock, 'slow', 5_000, async () => {
      await env.redis.set(lock, 'other', 'PX', 5_000)
      return 1
    })
    expect(outcome).toEqual({ locked: true, value: 1 })
    expect(await env.redis.get(lock)).toBe('other')
  })
})
