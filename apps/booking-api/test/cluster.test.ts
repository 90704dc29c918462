import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import {
  appEnv,
  insertAccounts,
  type LocalRedisCluster,
  seedCatalog,
  startLocalRedisCluster,
  useTestEnv,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants } from './helpers.js'

// Both apps, unchanged, against a real three-master Redis Cluster (REDIS_CLUSTER=1).
const env = useTestEnv()
let cluster: LocalRedisCluster
let gateway: App
let booking: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>

beforeAll(async () => {
  cluster = await startLocalRedisCluster(3)
  catalog = await seedCatalog(env.db)
  await insertAccounts(env.db, 3, { prefix: 'cj', balance: 1_000_000 })
  const onCluster = { REDIS_URL: cluster.seedUrl, REDIS_CLUSTER: '1', LOG_LEVEL: 'silent' }
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { ...onCluster, QUEUE_ADMIT_INTERVAL_MS: '50' })),
    logger: false,
  })
  await gateway.ready()
  booking = await buildBooking(env, { REDIS_URL: cluster.seedUrl, REDIS_CLUSTER: '1' })
}, 60_000)

afterAll(async () => {
  await gateway?.close()
  await booking?.close()
  await cluster?.stop()
})

describe('both apps on a Redis Cluster', () => {
  it('join → READY → buy → token EXPIRED, health green on both', async () => {
    for (const app of [gateway, booking]) {
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
    }
    const eventId = catalog.eventId
    const joined = await gateway.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      payload: { accountId: 'cj-1', eventId },
    })
    expect(joined.statusCode).toBe(201)
    const token = joined.json().token as string
    let status = joined.json().status as string
    for (let i = 0; i < 100 && status !== 'READY'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      status = (await gateway.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })).json().status
    }
    expect(status).toBe('READY')

    const schedule = catalog.schedules.find((s) => s.event_id === eventId) as { id: number }
    const seats = await booking.inject({
      method: 'GET',
      url: `/v1/schedules/${schedule.id}/seats`,
      headers: bearer(token),
    })
    expect(seats.json().seats).toHaveLength(50)
    const bought = await booking.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(token),
      payload: { scheduleId: schedule.id, seatId: (catalog.seats[0] as { id: number }).id },
    })
    expect(bought.statusCode).toBe(201)
    const ticket = (await gateway.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })).json()
    expect(ticket).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    await gateway.mirrorWorker.drain(eventId)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('token', '=', token)
      .executeTakeFirst()
    expect(row).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    await expectInvariants(env)
  }, 30_000)
})
