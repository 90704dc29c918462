import type { App } from '@concert/http'
import { insertAccounts, seedCatalog, startRedisProxy, type TcpProxy, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep, within } from './helpers.js'

/*
 * Redis gone silent: the connection stays open but nothing comes back (a frozen server,
 * or a link cut without a reset, as a partition or a dead host leaves it). Without a
 * socket timeout every command on that connection, and every request waiting on one,
 * waits until TCP gives up: minutes to hours. REDIS_TIMEOUT_MS bounds it.
 */

const env = useTestEnv()
let link: TcpProxy
let app: App
let eventId: number

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, 1, { prefix: 's' })
  const viaProxy = await startRedisProxy(env.redisUrl)
  link = viaProxy.proxy
  app = await buildGateway(env, { REDIS_URL: viaProxy.url, REDIS_TIMEOUT_MS: '1000' }, { workers: true })
})
afterAll(async () => {
  await app?.close()
  await link?.close()
})

describe('when Redis goes silent without closing the connection', () => {
  it('requests answer 503 instead of hanging, and the fan keeps the same ticket once Redis answers again', async () => {
    const joined = await join(app, 's-1', eventId)
    expect(joined.statusCode).toBe(201)
    const { token, issuedAt } = joined.json() as { token: string; issuedAt: string }
    const poll = () => app.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
    expect((await poll()).statusCode).toBe(200)

    link.stall()
    // Five times the timeout: without it, these would wait for TCP (minutes or hours).
    const polled = await within(5_000, poll())
    expect(polled.statusCode).toBe(503)
    expect(polled.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    expect(JSON.stringify(polled.json())).not.toMatch(/timed out|Socket timeout|ioredis|\.js:\d+/)
    const again = await within(5_000, join(app, 's-1', eventId))
    expect(again.statusCode).toBe(503)
    const ready = await within(5_000, app.inject({ method: 'GET', url: '/health/ready' }))
    expect(ready.statusCode).toBe(503)

    link.restore()
    // The silent connection is given up and a new one made: the fan's ticket is still there
    // (the same token, issued when it was), and joining again gives it back.
    let after = await poll()
    for (let i = 0; i < 100 && after.statusCode !== 200; i += 1) {
      await sleep(100)
      after = await poll()
    }
    expect(after.statusCode).toBe(200)
    expect(after.json()).toMatchObject({ token, issuedAt })
    const rejoined = await within(5_000, join(app, 's-1', eventId))
    expect(rejoined.statusCode).toBe(200)
    expect(rejoined.json()).toMatchObject({ token, issuedAt })
  })
})
