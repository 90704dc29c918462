import { buildBookingApp, loadBookingConfig } from '@concert/booking-api'
import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, listenOnLoopback, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type BookingClient,
  bearer,
  createBookingClient,
  createGatewayClient,
  type GatewayClient,
  isProblem,
  type Ticket,
  ticketStreamUrl,
} from '../src/index.js'

const env = useTestEnv()
let gatewayApp: App
let bookingApp: App
let gatewayUrl: string
let gateway: GatewayClient
let booking: BookingClient

beforeAll(async () => {
  await seedCatalog(env.db)
  gatewayApp = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { QUEUE_ADMIT_INTERVAL_MS: '50' })),
    logger: false,
  })
  bookingApp = await buildBookingApp({ config: loadBookingConfig(appEnv(env)), logger: false })
  gatewayUrl = await listenOnLoopback(gatewayApp)
  // A trailing slash is accepted: the clients join paths without doubling it.
  gateway = createGatewayClient(`${gatewayUrl}/`)
  booking = createBookingClient(await listenOnLoopback(bookingApp))
})
afterAll(async () => {
  await gatewayApp?.close()
  await bookingApp?.close()
})

async function pollUntilReady(token: string): Promise<Ticket> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { data } = await gateway.GET('/v1/queue/tokens/{token}', { params: { path: { token } } })
    if (!data) throw new Error('poll failed')
    if (data.status === 'READY') return data
    expect(data.status).toBe('WAITING')
    await new Promise((resolve) => setTimeout(resolve, Math.min(data.pollAfterMs, 100)))
  }
  throw new Error('never admitted')
}

describe('the generated client drives the fan journey over real HTTP', () => {
  it('account → charge → join → READY → dates → seats → pay → my reservations, every answer typed', async () => {
    const created = await booking.POST('/v1/accounts', {
      body: { email: 'typed@example.com', name: 'Typed Fan' },
    })
    expect(created.response.status).toBe(201)
    const accountId = created.data?.id ?? ''
    expect(created.data).toMatchObject({ email: 'typed@example.com', name: 'Typed Fan', balance: 0 })

    const charged = await booking.POST('/v1/accounts/{accountId}/balance/charge', {
      params: { path: { accountId }, header: { 'idempotency-key': 'client-top-up-1' } },
      body: { amount: 400_000 },
    })
    expect(charged.data).toEqual({ accountId, balance: 400_000, charged: 400_000 })

    const events = await booking.GET('/v1/events')
    const eventId = events.data?.[0]?.id ?? 0
    expect(eventId).toBeGreaterThan(0)

    const joined = await gateway.POST('/v1/queue/tokens', { body: { accountId, eventId } })
    expect(joined.response.status).toBe(201)
    const token = joined.data?.token ?? ''
    expect(joined.data).toMatchObject({ accountId, eventId, status: 'WAITING', position: 1 })

    // The stream URL the web app hands to EventSource answers with Server-Sent Events.
    const stream = await fetch(ticketStreamUrl(gatewayUrl, token))
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    await stream.body?.cancel()

    const ready = await pollUntilReady(token)
    expect(ready.position).toBe(0)

    const dates = await booking.GET('/v1/events/{eventId}/schedules', {
      params: { path: { eventId } },
      headers: bearer(token),
    })
    const scheduleId = dates.data?.[0]?.scheduleId ?? 0
    const map = await booking.GET('/v1/schedules/{scheduleId}/seats', {
      params: { path: { scheduleId } },
      headers: bearer(token),
    })
    expect(map.data?.seats).toHaveLength(50)
    expect(map.data?.maxSeatsPerOrder).toBe(4)
    const seat = map.data?.seats.find((candidate) => candidate.status === 'AVAILABLE')
    if (!seat?.price) throw new Error('no priced free seat')

    const paid = await booking.POST('/v1/reservations', {
      body: { scheduleId, seatId: seat.seatId },
      headers: bearer(token),
    })
    expect(paid.response.status).toBe(201)
    expect(paid.data).toMatchObject({
      accountId,
      scheduleId,
      seatId: seat.seatId,
      balance: 400_000 - seat.price,
    })

    const mine = await booking.GET('/v1/accounts/{accountId}/reservations', {
      params: { path: { accountId } },
      headers: bearer(token),
    })
    expect(mine.data?.map((row) => row.seatId)).toEqual([seat.seatId])
  })

  it('answers problems as typed errors with their code, and leaving the queue is a 204', async () => {
    const missing = await gateway.GET('/v1/queue/tokens/{token}', {
      params: { path: { token: '1.nosuchtokennosuchtoken' } },
    })
    expect(missing.response.status).toBe(404)
    expect(missing.response.headers.get('content-type')).toContain('application/problem+json')
    expect(isProblem(missing.error)).toBe(true)
    expect(missing.error).toMatchObject({ code: 'TOKEN_NOT_FOUND', status: 404 })

    const refused = await booking.GET('/v1/events/{eventId}/schedules', {
      params: { path: { eventId: 1 } },
      headers: bearer('1.nosuchtokennosuchtoken'),
    })
    expect(refused.error).toMatchObject({ code: 'TOKEN_INVALID', status: 401 })

    const account = await booking.POST('/v1/accounts', {
      body: { email: 'leaver@example.com', name: 'Leaver' },
    })
    const accountId = account.data?.id ?? ''
    const joined = await gateway.POST('/v1/queue/tokens', { body: { accountId, eventId: 1 } })
    const token = joined.data?.token ?? ''
    const left = await gateway.DELETE('/v1/queue/tokens/{token}', { params: { path: { token } } })
    expect(left.response.status).toBe(204)
    const after = await gateway.GET('/v1/queue/tokens/{token}', { params: { path: { token } } })
    expect(after.data).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
  })
})
