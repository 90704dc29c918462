import type { App } from '@concert/http'
import { RateLimitCounters, rateLimitPrefix } from '@concert/queue'
import { createEvent, insertAccounts, scriptCalls, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway } from './helpers.js'

// A private redis-server: the first test counts the scripts the server runs.
const env = useTestEnv({ privateRedis: true })
let accounts: string[]
const copies: App[] = []
const LIMIT = 30
// Longer than any burst below could take: the window never ends by itself inside a test.
const WINDOW_MS = 60_000

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 200, { prefix: 'limited' })
})
afterAll(async () => {
  await Promise.all(copies.map((copy) => copy.close()))
})

async function startCopy(): Promise<string> {
  const app = await buildGateway(env, {
    ISSUE_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    ISSUE_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
  })
  copies.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return `http://127.0.0.1:${address.port}`
}

/** A join over HTTP, from this process's address (127.0.0.1), to the copy at `url`. */
const joinOver = (url: string, accountId: string, eventId: number) =>
  fetch(`${url}/v1/queue/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, eventId }),
  })

describe('the token-issuance rate limit', () => {
  it('counts a turn’s requests of one client in one script, each with its own count, in order', async () => {
    const counters = new RateLimitCounters(env.redis)
    const counter = `${env.keyPrefix}rate-test:one-client`
    const scripts = await scriptCalls(env.redis)
    const counts = await Promise.all(Array.from({ length: 100 }, () => counters.count(counter, 60_000)))
    expect(await scriptCalls(env.redis)).toBe(scripts + 1)
    expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => ({ current: i + 1, ttl: 60_000 })))
    const windowEnds = await env.redis.call('PEXPIRETIME', counter)
    // Another client in the same turn is counted apart; a later turn adds to the window
    // without moving its end.
    const [next, other] = await Promise.all([
      counters.count(counter, 60_000),
      counters.count(`${counter}:other`, 60_000),
    ])
    expect(next?.current).toBe(101)
    expect(other?.current).toBe(1)
    expect(await scriptCalls(env.redis)).toBe(scripts + 3)
    expect(Number(await env.redis.get(counter))).toBe(101)
    expect(await env.redis.call('PEXPIRETIME', counter)).toBe(windowEnds)
  })

  it('a burst past the batch size takes two scripts, the counts still 1..n; a counter found without an expiry gets one', async () => {
    const counters = new RateLimitCounters(env.redis)
    const counter = `${env.keyPrefix}rate-test:big-burst`
    const scripts = await scriptCalls(env.redis)
    const counts = await Promise.all(Array.from({ length: 1_001 }, () => counters.count(counter, 60_000)))
    expect(await scriptCalls(env.redis)).toBe(scripts + 2)
    expect(counts.map((count) => count.current)).toEqual(Array.from({ length: 1_001 }, (_, i) => i + 1))

    // Left without an expiry (by hand here): the next count starts a window on it.
    const stuck = `${env.keyPrefix}rate-test:no-expiry`
    await env.redis.set(stuck, '5')
    expect(await counters.count(stuck, 30_000)).toEqual({ current: 6, ttl: 30_000 })
    expect(await env.redis.pttl(stuck)).toBeGreaterThan(29_000)
  })

  it('a Redis error fails every count of its batch (the plugin then lets the requests through: skipOnError)', async () => {
    const counters = new RateLimitCounters(env.redis)
    const counter = `${env.keyPrefix}rate-test:not-a-number`
    await env.redis.set(counter, 'not a number')
    const counts = await Promise.allSettled([
      counters.count(counter, 60_000),
      counters.count(counter, 60_000),
    ])
    for (const count of counts) {
      expect(count).toMatchObject({
        status: 'rejected',
        reason: { message: expect.stringMatching(/not an integer/) },
      })
    }
    expect(await env.redis.get(counter)).toBe('not a number')
  })

  it('160 joins at once from one address over two gateway copies: exactly the limit pass, the rest get 429 with Retry-After', async () => {
    const urls = [await startCopy(), await startCopy()]
    const eventId = await createEvent(env.db, 'rate limited')
    const answers = await Promise.all(
      accounts.slice(0, 160).map(async (accountId, i) => {
        const response = await joinOver(urls[i % 2] as string, accountId, eventId)
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: (await response.json()) as { position: number },
        }
      }),
    )
    const passed = answers.filter((answer) => answer.status === 201)
    const limited = answers.filter((answer) => answer.status === 429)
    expect(passed).toHaveLength(LIMIT)
    expect(limited).toHaveLength(160 - LIMIT)
    for (const answer of limited) {
      expect(answer.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' })
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    // Only the joins that passed got places, 1..LIMIT.
    expect(passed.map((answer) => answer.body.position).sort((a, b) => a - b)).toEqual(
      Array.from({ length: LIMIT }, (_, i) => i + 1),
    )
    // Every request counted once, on the client's one counter. (How many scripts that
    // took depends on how the requests fell into turns; the test above counts them.)
    const counters = await env.redis.keys(`${rateLimitPrefix(env.keyPrefix)}*`)
    expect(counters).toEqual([`${rateLimitPrefix(env.keyPrefix)}POST/v1/queue/tokens-127.0.0.1`])
    expect(await env.redis.get(counters[0] as string)).toBe('160')

    // A new window lets the client in again (the window ended by hand: it is a minute long).
    await env.redis.del(counters[0] as string)
    const again = await joinOver(urls[0] as string, accounts[170] as string, eventId)
    expect(again.status).toBe(201)
  })
})
