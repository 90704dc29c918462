import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { sleep } from '@concert/queue/testing'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { addShow, admin, buildAdminBooking, createEvent, createVenue } from './admin-helpers.js'

// SPEC §7–8: an event's queue settings live in Redis for the admit script and survive
// its loss (restored from MySQL). A private redis-server: this file FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
let booking: App
let gateways: App[] = []
let eventId: number

const DAY = 24 * 60 * 60 * 1000
const settings = {
  maxActive: 3,
  admitPerSecond: 7,
  activeTtlSeconds: 240,
  waitingIdleSeconds: 600,
  paused: true,
}

beforeAll(async () => {
  booking = await buildAdminBooking(env)
  const venue = await createVenue(booking, 'Settings Hall', { seats: 10 })
  eventId = await createEvent(booking, venue.id, 'Settings kept')
  await addShow(booking, eventId, {
    date: new Date(Date.now() + DAY).toISOString().slice(0, 10),
    startTime: '17:00:00',
  })
  const patched = await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, settings)
  expect(patched.status).toBe(200)
  expect(patched.body.settings).toEqual(settings)
  // Two copies that tick every 50 ms but re-read the event list (and republish every event's
  // settings from MySQL) only at startup: after the FLUSHALL, only recovery can bring them back.
  for (let i = 0; i < 2; i += 1) {
    const config = loadGatewayConfig(
      appEnv(env, {
        QUEUE_ADMIT_INTERVAL_MS: '50',
        QUEUE_EVENTS_REFRESH_MS: String(60 * 60 * 1000),
        DB_POOL_SIZE: '4',
      }),
    )
    const app = await buildGatewayApp({ config, logger: false, workers: true })
    await app.ready()
    gateways.push(app)
  }
})
afterAll(async () => {
  for (const app of gateways) await app.close()
  gateways = []
  await booking?.close()
})

function join(accountId: string, copy: number) {
  return (gateways[copy % gateways.length] as App).inject({
    method: 'POST',
    url: '/v1/queue/tokens',
    payload: { accountId, eventId },
  })
}

function poll(token: string, copy: number) {
  return (gateways[copy % gateways.length] as App).inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
}

describe('queue settings survive a Redis loss (two gateway copies)', () => {
  it('paused, admitPerSecond 7 and maxActive 3 come back from MySQL after FLUSHALL, and admission stays paused', async () => {
    const fans = await insertAccounts(env.db, 20, { prefix: 'kept' })
    const tokens: string[] = []
    for (const [i, id] of fans.entries()) {
      const answer = await join(id, i)
      expect(answer.statusCode).toBe(201)
      expect(answer.json()).toMatchObject({ status: 'WAITING', position: i + 1, queueState: 'PAUSED' })
      tokens.push(answer.json().token)
    }
    const k = eventKeys(env.keyPrefix, eventId)
    const saleBefore = await env.redis.hgetall(k.sale)
    expect(saleBefore).toMatchObject({
      paused: '1',
      maxActive: '3',
      admitPerSecond: '7',
      activeTtlMs: '240000',
      waitingIdleMs: '600000',
    })
    for (const app of gateways) await app.mirrorWorker.drain(eventId)

    // Redis loses everything; the copies' admission ticks find the queue gone and rebuild it.
    if (!env.localRedis) throw new Error('this file runs on a private redis-server')
    await env.localRedis.flushAll()
    expect(await env.redis.hgetall(k.sale)).toEqual({})
    await vi.waitFor(async () => expect(await env.redis.exists(k.marker)).toBe(1), {
      timeout: 10_000,
      interval: 20,
    })
    expect(await env.redis.hgetall(k.sale)).toEqual(saleBefore)
    const status = await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)
    expect(status.body).toMatchObject({ state: 'PAUSED', settings, waiting: 20, ready: 0 })

    // Still paused: dozens of ticks of both copies admit nobody, and nobody moves.
    await sleep(1_500)
    expect(await env.redis.zcard(k.admitted)).toBe(0)
    expect(await env.redis.zcard(k.active)).toBe(0)
    const tickets = await Promise.all(tokens.map((t, i) => poll(t, i).then((r) => r.json())))
    expect(tickets.map((t) => [t.status, t.position, t.queueState])).toEqual(
      tokens.map((_, i) => ['WAITING', i + 1, 'PAUSED']),
    )
    expect((await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)).body).toMatchObject({
      state: 'PAUSED',
      waiting: 20,
      ready: 0,
      admittedLastMinute: 0,
    })
  })
})
