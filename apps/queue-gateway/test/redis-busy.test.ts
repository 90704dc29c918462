import type { App } from '@concert/http'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep } from './helpers.js'

/*
 * Redis busy: a script ran past `busy-reply-threshold` (5 s by default), and until it ends
 * Redis answers every other command "BUSY Redis is busy running a script". That is Redis
 * unavailable for the moment, as a refused or silent connection is: a 503 with Retry-After,
 * not a 500. The long script runs on a Redis of this file's own.
 */

const env = useTestEnv({ privateRedis: true })
let app: App
let eventId: number

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, 2, { prefix: 'busy' })
  app = await buildGateway(env)
})
afterAll(async () => {
  await env.redis.config('SET', 'busy-reply-threshold', '5000')
  await app?.close()
})

/** Keeps Redis running one script for `ms` (on a connection of its own, which waits for it). */
async function holdRedis(ms: number): Promise<void> {
  const other = new Redis(env.redisUrl)
  try {
    await other.eval(
      `local t = redis.call('TIME'); local from = t[1] * 1e6 + t[2]
       repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - from > tonumber(ARGV[1]) * 1000
       return 1`,
      0,
      ms,
    )
  } finally {
    other.disconnect()
  }
}

describe('when Redis is busy running a script', () => {
  it('polls and joins answer 503 with Retry-After, and work again once the script ends', async () => {
    const joined = await join(app, 'busy-1', eventId)
    expect(joined.statusCode).toBe(201)
    const { token } = joined.json() as { token: string }
    const poll = () => app.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
    expect((await poll()).statusCode).toBe(200)

    await env.redis.config('SET', 'busy-reply-threshold', '100')
    const held = holdRedis(2_000)
    // From the first BUSY on, until the script ends, Redis refuses every other command.
    while (
      await env.redis.ping().then(
        () => true,
        (error: Error) => !/^BUSY /.test(error.message),
      )
    ) {
      await sleep(20)
    }
    const polled = await poll()
    expect(polled.statusCode).toBe(503)
    expect(polled.headers['retry-after']).toBeDefined()
    expect(polled.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    expect(JSON.stringify(polled.json())).not.toMatch(/BUSY|script|ioredis|\.js:\d+/)
    const joining = await join(app, 'busy-2', eventId)
    expect(joining.statusCode).toBe(503)
    expect(joining.headers['retry-after']).toBeDefined()

    await held
    const after = await poll()
    expect(after.statusCode).toBe(200)
    expect(after.json()).toMatchObject({ token })
    expect((await join(app, 'busy-2', eventId)).statusCode).toBe(201)
  })
})
