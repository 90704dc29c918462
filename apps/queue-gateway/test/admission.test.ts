import type { App } from '@concert/http'
import { eventKeys, QueueService } from '@concert/queue'
import { readTokenState } from '@concert/queue/testing'
import { appEnv, createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildGatewayApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'
import { sleep } from './helpers.js'

const env = useTestEnv()
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 400, { prefix: 'adm' })
})

async function fillQueue(eventId: number, count: number) {
  const queue = new QueueService({
    redis: env.redis,
    db: env.db,
    prefix: env.keyPrefix,
    settings: {
      maxActive: 1,
      admitPerSecond: 1,
      activeTtlSeconds: 300,
      waitingIdleSeconds: 300,
      expiredRetentionSeconds: 600,
    },
  })
  for (const id of accounts.slice(0, count)) await queue.join(eventId, id)
}

async function runGateways(settings: Record<string, string>, seconds: number, sample: () => Promise<void>) {
  // Two copies of the gateway, each with its own admission loop, on one Redis;
  // both are built first and started together so the clock starts with them.
  const config = loadGatewayConfig(
    appEnv(env, { DB_POOL_SIZE: '3', QUEUE_ADMIT_INTERVAL_MS: '50', LOG_LEVEL: 'silent', ...settings }),
  )
  const apps: App[] = await Promise.all([0, 1].map(() => buildGatewayApp({ config, logger: false })))
  await Promise.all(apps.map((app) => app.ready()))
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    await sample()
    await sleep(20)
  }
  await Promise.all(apps.map((app) => app.close()))
}

describe('cluster-wide admission', () => {
  it('two gateway copies admitting for 10 s at admitPerSecond=20 admit 200 ± 10%', async () => {
    const eventId = await createEvent(env.db, 'rate')
    await fillQueue(eventId, 400)
    const keys = eventKeys(env.keyPrefix, eventId)
    await runGateways(
      { QUEUE_ADMIT_PER_SECOND: '20', QUEUE_MAX_ACTIVE: '1000', QUEUE_ACTIVE_TTL_SECONDS: '600' },
      10,
      async () => {},
    )
    const ready = await env.redis.zcard(keys.active)
    const waiting = await env.redis.zcard(keys.waiting)
    expect(ready + waiting).toBe(400)
    expect(ready).toBeGreaterThanOrEqual(180)
    expect(ready).toBeLessThanOrEqual(220)
    // The admission log (Redis times) shows the cluster-wide rate itself, start-up skew aside.
    const log = await env.redis.zrange(keys.admitted, 0, -1, 'WITHSCORES')
    const times = log.filter((_, i) => i % 2 === 1).map(Number)
    const rate = (times.length - 1) / (((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000)
    expect(rate).toBeGreaterThan(18)
    expect(rate).toBeLessThan(22)
    // Admitted strictly from the head: the READY tokens are places 1..ready.
    const places = await Promise.all(
      (await env.redis.zrange(keys.active, 0, -1)).map(
        async (t) => (await readTokenState(env.redis, keys, t))?.place,
      ),
    )
    expect(places.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: ready }, (_, i) => i + 1))
  }, 30_000)

  it('READY never exceeds maxActive, and expired slots are refilled', async () => {
    const eventId = await createEvent(env.db, 'cap')
    await fillQueue(eventId, 300)
    const keys = eventKeys(env.keyPrefix, eventId)
    let maxReady = 0
    await runGateways(
      { QUEUE_ADMIT_PER_SECOND: '500', QUEUE_MAX_ACTIVE: '25', QUEUE_ACTIVE_TTL_SECONDS: '1' },
      3.5,
      async () => {
        maxReady = Math.max(maxReady, await env.redis.zcard(keys.active))
      },
    )
    expect(maxReady).toBe(25)
    // After ~3 TTL rounds well over one round of 25 has been admitted.
    const waiting = await env.redis.zcard(keys.waiting)
    expect(300 - waiting).toBeGreaterThanOrEqual(75)
    expect(await env.redis.zcard(keys.active)).toBeLessThanOrEqual(25)
  }, 30_000)
})
