import { sleep } from '@concert/queue/testing'
import { describe, expect, it } from 'vitest'
import { cachedBody, VersionedCache } from '../src/catalog-cache.js'

/** A load that counts its calls and answers after a tick, like a query would. */
function countingLoad(value: string, expiresAt?: number) {
  let calls = 0
  return {
    get calls() {
      return calls
    },
    load: async () => {
      calls += 1
      await sleep(5)
      return expiresAt === undefined ? { value } : { value, expiresAt }
    },
  }
}

describe('VersionedCache (catalogue answers in process)', () => {
  it('shares one load per version, answers from memory while the version holds, reloads on a new one', async () => {
    const cache = new VersionedCache<number, string>(60_000)
    const first = countingLoad('map v1')
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get(1, 'a', first.load)))
    expect(answers).toEqual(Array(20).fill('map v1'))
    expect(first.calls).toBe(1)
    expect(await cache.get(1, 'a', first.load)).toBe('map v1')
    expect(first.calls).toBe(1)

    const second = countingLoad('map v2')
    expect(await cache.get(1, 'b', second.load)).toBe('map v2')
    expect(await cache.get(1, 'b', second.load)).toBe('map v2')
    expect(second.calls).toBe(1)
    // Another key never sees this one's value.
    expect(await cache.get(2, 'b', countingLoad('other').load)).toBe('other')
  })

  it('lets an answer live at most its TTL, or until the moment its load names', async () => {
    const cache = new VersionedCache<number, string>(60)
    const source = countingLoad('dates')
    await cache.get(1, 'a', source.load)
    await sleep(80)
    await cache.get(1, 'a', source.load)
    expect(source.calls).toBe(2)

    const long = new VersionedCache<number, string>(60_000)
    const lapsing = countingLoad('dates', Date.now() + 40)
    await long.get(1, 'a', lapsing.load)
    await sleep(60)
    await long.get(1, 'a', lapsing.load)
    expect(lapsing.calls).toBe(2)
  })

  it('does not keep a failed load, and TTL 0 caches nothing', async () => {
    const cache = new VersionedCache<number, string>(60_000)
    await expect(cache.get(1, 'a', async () => Promise.reject(new Error('mysql down')))).rejects.toThrow(
      'mysql down',
    )
    expect(await cache.get(1, 'a', async () => ({ value: 'back' }))).toBe('back')

    const off = new VersionedCache<number, string>(0)
    const source = countingLoad('uncached')
    await off.get(1, 'a', source.load)
    await off.get(1, 'a', source.load)
    expect(source.calls).toBe(2)
    expect(off.enabled).toBe(false)
  })

  it('keeps an answer as the exact JSON bytes of the value', () => {
    const body = cachedBody({ seats: [{ seatId: 1, status: 'AVAILABLE', price: null }] })
    expect(JSON.parse(body.json.toString())).toEqual({
      seats: [{ seatId: 1, status: 'AVAILABLE', price: null }],
    })
  })
})
