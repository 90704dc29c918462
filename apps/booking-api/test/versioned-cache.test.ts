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

  it('runs one load per key at a time: callers of newer versions meanwhile share one load that starts after it', async () => {
    const cache = new VersionedCache<number, string>(60_000)
    // What MySQL holds: each "sale" commits a change, then rewrites the version (as finish-purchase does).
    let committed = 0
    let running = 0
    let mostAtOnce = 0
    let loads = 0
    // The first load runs until the test lets it end.
    let endFirst: () => void = () => {}
    const firstEnds = new Promise<void>((resolve) => {
      endFirst = resolve
    })
    const load = async () => {
      loads += 1
      running += 1
      mostAtOnce = Math.max(mostAtOnce, running)
      const read = committed
      await (loads === 1 ? firstEnds : sleep(5))
      running -= 1
      return { value: `sold ${read}` }
    }
    const first = cache.get(1, 'v0', load)
    // 50 sales while the first load runs, each seat map read right after its version was written.
    const answers: Array<Promise<string>> = []
    for (let sale = 1; sale <= 50; sale += 1) {
      committed = sale
      answers.push(cache.get(1, `v${sale}`, load))
      await sleep(1)
    }
    expect(loads).toBe(1)
    endFirst()
    expect(await first).toBe('sold 0')
    // One load after the first, for all 50, read after every sale they knew of.
    expect(await Promise.all(answers)).toEqual(Array(50).fill('sold 50'))
    expect(loads).toBe(2)
    expect(mostAtOnce).toBe(1)
    // Tagged with the last caller's version: served from memory while it holds.
    expect(await cache.get(1, 'v50', load)).toBe('sold 50')
    expect(loads).toBe(2)
    // Another key is not held back by this one.
    expect(await cache.get(2, 'v50', load)).toBe('sold 50')
    expect(loads).toBe(3)
  })

  it('builds the load after a running one under the version read as it starts, not the last caller’s', async () => {
    const cache = new VersionedCache<number, string>(60_000)
    let endFirst: () => void = () => {}
    const firstEnds = new Promise<void>((resolve) => {
      endFirst = resolve
    })
    const built: string[] = []
    const load = async (version: string) => {
      built.push(version)
      if (built.length === 1) await firstEnds
      return { value: `built under ${version}` }
    }
    // Versions as Redis holds them now: the later caller read an older one (its read came
    // back first, its request went on later).
    let inRedis = 'v1'
    const current = async () => inRedis
    const first = cache.get(1, 'v0', load, current)
    inRedis = 'v2'
    const knewV2 = cache.get(1, 'v2', load, current)
    const knewV1 = cache.get(1, 'v1', load, current)
    endFirst()
    await first
    expect(await knewV2).toBe('built under v2')
    expect(await knewV1).toBe('built under v2')
    expect(built).toEqual(['v0', 'v2'])
  })

  it('a load running past the TTL holds nobody back: its waiters and later callers load on their own', async () => {
    const cache = new VersionedCache<number, string>(50)
    // A load that never ends (a stalled query).
    void cache.get(1, 'a', () => new Promise(() => {}))
    // Another version waits for it, and is answered once its TTL is up (it would wait forever).
    expect(await cache.get(1, 'b', async () => ({ value: 'b' }))).toBe('b')
    // A later caller is answered by a load of its own.
    expect(await cache.get(1, 'c', async () => ({ value: 'c' }))).toBe('c')
  })

  it('a failed load still starts the load its waiting callers share', async () => {
    const cache = new VersionedCache<number, string>(60_000)
    const failing = cache.get(1, 'a', async () => {
      await sleep(10)
      throw new Error('mysql down')
    })
    const waiting = cache.get(1, 'b', async () => ({ value: 'back' }))
    await expect(failing).rejects.toThrow('mysql down')
    expect(await waiting).toBe('back')
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
