import type { App } from '@concert/http'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

const env = useTestEnv()
let app: App
let eventId: number

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, 1, { prefix: 'o' })
  // Nothing listens on port 1: this gateway's Redis is down from the start.
  app = await buildGateway(env, { REDIS_URL: 'redis://127.0.0.1:1' }, { workers: true })
})
afterAll(async () => {
  await app?.close()
})

describe('when Redis is down', () => {
  it('the gateway still starts, reports it on /health/ready, and answers 503 instead of 500', async () => {
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json().detail).toMatch(/redis is down/)

    const joined = await join(app, 'o-1', eventId)
    expect(joined.statusCode).toBe(503)
    expect(joined.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    expect(joined.headers['retry-after']).toBe('1')

    const polled = await app.inject({
      method: 'GET',
      url: `/v1/queue/tokens/${eventId}.AAAAAAAAAAAAAAAAAAAAAA`,
    })
    expect(polled.statusCode).toBe(503)
    expect(JSON.stringify(polled.json())).not.toMatch(/ECONNREFUSED|Stream|at /)
  })
})
