import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, callJson, listenOnLoopback, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBooking } from './helpers.js'

const env = useTestEnv()
let gateway: App
let booking: App
let gatewayUrl: string
let bookingUrl: string

beforeAll(async () => {
  await seedCatalog(env.db)
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { QUEUE_ADMIT_INTERVAL_MS: '50' })),
    logger: false,
  })
  booking = await buildBooking(env)
  gatewayUrl = await listenOnLoopback(gateway)
  bookingUrl = await listenOnLoopback(booking)
})
afterAll(async () => {
  await gateway?.close()
  await booking?.close()
})

const call = callJson

/** Polls the gateway the way a client should: as often as pollAfterMs says, until READY. */
async function waitUntilReady(token: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { body } = await call('GET', `${gatewayUrl}/v1/queue/tokens/${token}`)
    if (body.status === 'READY') return
    expect(body.status).toBe('WAITING')
    await new Promise((resolve) => setTimeout(resolve, Math.min(body.pollAfterMs, 200)))
  }
  throw new Error('never admitted')
}

describe('the seed document’s whole journey over HTTP', () => {
  it('account → charge → queue → READY → dates → seats → reserve → seat RESERVED, token EXPIRED', async () => {
    const account = await call('POST', `${bookingUrl}/v1/accounts`, {
      email: 'journey@example.com',
      name: 'Jo',
    })
    expect(account.status).toBe(201)
    const accountId = account.body.id as string

    const charged = await call('POST', `${bookingUrl}/v1/accounts/${accountId}/balance/charge`, {
      amount: 300_000,
    })
    expect(charged).toEqual({ status: 200, body: { accountId, balance: 300_000, charged: 300_000 } })

    const events = await call('GET', `${bookingUrl}/v1/events`)
    const eventId = events.body[0].id as number

    const joined = await call('POST', `${gatewayUrl}/v1/queue/tokens`, { accountId, eventId })
    expect(joined.status).toBe(201)
    const token = joined.body.token as string
    expect(
      (await call('GET', `${bookingUrl}/v1/accounts/${accountId}/balance`, undefined, token)).body,
    ).toEqual({
      accountId,
      balance: 300_000,
    })
    await waitUntilReady(token)

    const dates = await call('GET', `${bookingUrl}/v1/events/${eventId}/schedules`, undefined, token)
    expect(dates.status).toBe(200)
    const scheduleId = dates.body[0].scheduleId as number

    const seats = await call('GET', `${bookingUrl}/v1/schedules/${scheduleId}/seats`, undefined, token)
    expect(seats.body.seats).toHaveLength(50)
    const seat = seats.body.seats.find(
      (s: { status: string; price: number }) => s.status === 'AVAILABLE' && s.price <= 300_000,
    )

    const reserved = await call(
      'POST',
      `${bookingUrl}/v1/reservations`,
      { scheduleId, seatId: seat.seatId },
      token,
    )
    expect(reserved.status).toBe(201)
    expect(reserved.body).toMatchObject({
      accountId,
      scheduleId,
      seatId: seat.seatId,
      seatNumber: seat.seatNumber,
      price: seat.price,
      balance: 300_000 - seat.price,
    })

    // The token is spent: the gateway says so, and the booking API refuses it for buying.
    const ticket = await call('GET', `${gatewayUrl}/v1/queue/tokens/${token}`)
    expect(ticket.body).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    const again = await call(
      'POST',
      `${bookingUrl}/v1/reservations`,
      { scheduleId, seatId: seat.seatId },
      token,
    )
    expect(again).toMatchObject({ status: 401, body: { code: 'TOKEN_EXPIRED' } })
    const mine = await call('GET', `${bookingUrl}/v1/accounts/${accountId}/reservations`, undefined, token)
    expect(mine.body).toEqual([
      expect.objectContaining({ reservationId: reserved.body.reservationId, seatId: seat.seatId }),
    ])

    // Back through the queue to look again: the seat is RESERVED.
    const rejoined = await call('POST', `${gatewayUrl}/v1/queue/tokens`, { accountId, eventId })
    expect(rejoined.status).toBe(201)
    await waitUntilReady(rejoined.body.token)
    const after = await call(
      'GET',
      `${bookingUrl}/v1/schedules/${scheduleId}/seats`,
      undefined,
      rejoined.body.token,
    )
    expect(after.body.seats.find((s: { seatId: number }) => s.seatId === seat.seatId).status).toBe('RESERVED')

    // And the mirror has the whole story in MySQL.
    await gateway.mirrorWorker.drain(eventId)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('token', '=', token)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED', account_id: accountId })
    expect(row.expires_at?.toISOString()).toBe(ticket.body.expiresAt)
  }, 30_000)
})
