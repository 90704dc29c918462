import { sleep } from '@concert/queue/testing'
import { describe, expect, it } from 'vitest'
import { TtlCache } from '../src/ttl-cache.js'

/** A load that counts its calls and answers after a tick, like a query would. */
function countingLoad(value: string) {
  let calls = 0
  return {
    get calls() {
      return calls
    },
    load: async () => {
      calls += 1
      await sleep(5)
      return value
    },
  }
}

describe('TtlCache (catalogue facts in process)', () => {
  it('shares one load among concurrent misses and answers from memory until the TTL ends', async () => {
    const cache = new TtlCache<number, string>(80)
    const source = countingLoad('show-1')
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get(1, source.load)))
    expect(answers).toEqual(Array(20).fill('show-1'))
    expect(source.calls).toBe(1)
    await cache.get(1, source.load)
    expect(source.calls).toBe(1)
    await sleep(100)
    await cache.get(1, source.load)
    expect(source.calls).toBe(2)
  })

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<number, string>(60_000)
    await expect(cache.get(1, async () => Promise.reject(new Error('mysql down')))).rejects.toThrow(
      'mysql down',
    )
    expect(await cache.get(1, async () => 'back')).toBe('back')
  })

  it('forgets the least recently used entry past maxEntries, and everything with TTL 0', async () => {
    const cache = new TtlCache<string, string>(60_000, 2)
    const a = countingLoad('a')
    const b = countingLoad('b')
    const c = countingLoad('c')
    await cache.get('a', a.load)
    await cache.get('b', b.load)
    await cache.get('a', a.load) // a is now the most recently used
    await cache.get('c', c.load) // b goes
    await cache.get('a', a.load)
    await cache.get('b', b.load)
    expect([a.calls, b.calls, c.calls]).toEqual([1, 2, 1])

    const off = new TtlCache<string, string>(0)
    const d = countingLoad('d')
    await off.get('d', d.load)
    await off.get('d', d.load)
    expect(d.calls).toBe(2)
  })

  it('delete() makes the next get load afresh', async () => {
    const cache = new TtlCache<number, string>(60_000)
    const source = countingLoad('x')
    await cache.get(7, source.load)
    cache.delete(7)
    await cache.get(7, source.load)
    expect(source.calls).toBe(2)
  })
})
