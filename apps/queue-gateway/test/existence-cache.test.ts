import { insertAccounts, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { ExistenceCache } from '../src/existence-cache.js'

const env = useTestEnv()
let accounts: string[]

beforeAll(async () => {
  accounts = await insertAccounts(env.db, 1500, { prefix: 'ex' })
})

/** A real lookup against MySQL that counts how often the cache had to ask. */
function countingLookup() {
  const calls: number[] = []
  const lookup = async (ids: string[]) => {
    calls.push(ids.length)
    return (await env.db.selectFrom('ACCOUNT').select('id').where('id', 'in', ids).execute()).map((r) => r.id)
  }
  return { calls, lookup }
}

describe('existence cache (no MySQL query per join)', () => {
  it('batches a crowd of concurrent lookups into IN (…) queries of up to 1,000 ids, then answers from memory', async () => {
    const { calls, lookup } = countingLookup()
    const cache = new ExistenceCache(lookup, { hitTtlMs: 60_000, missTtlMs: 60_000, maxEntries: 10_000 })
    const ids = [...accounts, 'nobody-1', 'nobody-2']
    const answers = await Promise.all(ids.map((id) => cache.has(id)))
    expect(answers.filter(Boolean)).toHaveLength(1500)
    expect(answers.slice(-2)).toEqual([false, false])
    expect(calls).toEqual([1000, 502])

    // The same crowd again, and again: not one more query.
    await Promise.all(ids.map((id) => cache.has(id)))
    await Promise.all(ids.map((id) => cache.has(id)))
    expect(calls).toHaveLength(2)
  })

  it('forgets misses quickly, so an account created a moment later can join', async () => {
    const { calls, lookup } = countingLookup()
    const cache = new ExistenceCache(lookup, { hitTtlMs: 60_000, missTtlMs: 50, maxEntries: 10_000 })
    expect(await cache.has('late-account')).toBe(false)
    await env.db
      .insertInto('ACCOUNT')
      .values({ id: 'late-account', email: 'late@example.test', name: 'L', amount: 0 })
      .execute()
    expect(await cache.has('late-account')).toBe(false) // still the cached miss
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(await cache.has('late-account')).toBe(true)
    expect(calls).toHaveLength(2)
  })

  it('passes a database failure to every waiting caller and caches nothing', async () => {
    let fail = true
    const cache = new ExistenceCache(
      async (ids: string[]) => {
        if (fail) throw new Error('database down')
        return (await env.db.selectFrom('ACCOUNT').select('id').where('id', 'in', ids).execute()).map(
          (r) => r.id,
        )
      },
      { hitTtlMs: 60_000, missTtlMs: 60_000, maxEntries: 10_000 },
    )
    const results = await Promise.allSettled([cache.has('ex-1'), cache.has('ex-2'), cache.has('ex-1')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    fail = false
    expect(await cache.has('ex-1')).toBe(true)
  })

  it('keeps at most maxEntries ids, forgetting the least recently used one, not all of them', async () => {
    const { calls, lookup } = countingLookup()
    const cache = new ExistenceCache(lookup, { hitTtlMs: 60_000, missTtlMs: 60_000, maxEntries: 3 })
    await Promise.all(['ex-1', 'ex-2', 'ex-3'].map((id) => cache.has(id)))
    expect(await cache.has('ex-1')).toBe(true) // from memory, and now the most recently used
    expect(await cache.has('ex-4')).toBe(true) // a fourth id: ex-2, the least recently used, goes
    expect(await cache.has('ex-1')).toBe(true)
    expect(await cache.has('ex-3')).toBe(true)
    expect(calls).toEqual([3, 1])
    expect(await cache.has('ex-2')).toBe(true) // asked again
    expect(calls).toEqual([3, 1, 1])
  })
})
