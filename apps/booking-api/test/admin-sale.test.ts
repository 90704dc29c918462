import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, callJson, listenOnLoopback, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, buildAdminBooking } from './admin-helpers.js'
import { expectInvariants } from './helpers.js'

// An on-sale that exists only because an operator created it over HTTP: no seed data at all.
const env = useTestEnv()
let booking: App
let gateway: App | undefined
let bookingUrl: string
let gatewayUrl: string

beforeAll(async () => {
  booking = await buildAdminBooking(env)
  bookingUrl = await listenOnLoopback(booking)
})
afterAll(async () => {
  await gateway?.close()
  await booking?.close()
})

const call = callJson

async function waitUntilReady(token: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const { body } = await call('GET', `${gatewayUrl}/v1/queue/tokens/${token}`)
    if (body.status === 'READY') return
    expect(body.status).toBe('WAITING')
    await new Promise((resolve) => setTimeout(resolve, Math.min(body.pollAfterMs, 100)))
  }
  throw new Error('never admitted')
}

describe('an event created only through the admin API', () => {
  it('sells through the fan API end to end: queue, dates, seats, reserve and pay, exact balances', async () => {
    // The operator: a 30-seat hall (10 VIP, 20 R), an event with prices, two shows.
    const seats = Array.from({ length: 30 }, (_, i) => ({
      seatNumber: String(i + 1),
      area: i < 10 ? 'Front' : 'Back',
      seatType: i < 10 ? 'VIP' : 'R',
    }))
    const venue = await call(
      'POST',
      `${bookingUrl}/v1/admin/venues`,
      { name: 'Operator Hall', timeZone: 'Asia/Seoul', seats },
      ADMIN_KEY,
    )
    expect(venue.status).toBe(201)
    const prices = { VIP: 154_000, R: 99_000 }
    const event = await call(
      'POST',
      `${bookingUrl}/v1/admin/events`,
      { title: 'Operator Live', venueId: venue.body.id, prices, queue: { maxActive: 100 } },
      ADMIN_KEY,
    )
    expect(event.status).toBe(201)
    const eventId = event.body.id as number
    const shows: number[] = []
    for (const date of ['2031-08-14', '2031-08-15']) {
      const show = await call(
        'POST',
        `${bookingUrl}/v1/admin/events/${eventId}/schedules`,
        { date, startTime: '19:30:00', endTime: '22:00:00' },
        ADMIN_KEY,
      )
      expect(show.status).toBe(201)
      shows.push(show.body.scheduleId)
    }
    const [firstShow, secondShow] = shows as [number, number]

    // A gateway copy with its admission loop running, started after the operator's work.
    gateway = await buildGatewayApp({
      config: loadGatewayConfig(
        appEnv(env, { QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_ADMIT_PER_SECOND: '100', DB_POOL_SIZE: '3' }),
      ),
      logger: false,
    })
    gatewayUrl = await listenOnLoopback(gateway)

    // Fans: sign up and top up through the fan API.
    const fans: Array<{ id: string; charged: number }> = []
    for (const [i, charged] of [400_000, 200_000, 120_000].entries()) {
      const account = await call('POST', `${bookingUrl}/v1/accounts`, {
        email: `fan${i}@operator.test`,
        name: `Fan ${i}`,
      })
      expect(account.status).toBe(201)
      const charge = await call('POST', `${bookingUrl}/v1/accounts/${account.body.id}/balance/charge`, {
        amount: charged,
      })
      expect(charge.body).toEqual({ accountId: account.body.id, balance: charged, charged })
      fans.push({ id: account.body.id, charged })
    }

    const listed = await call('GET', `${bookingUrl}/v1/events`)
    expect(listed.body).toContainEqual({
      id: eventId,
      title: 'Operator Live',
      venue: { id: venue.body.id, name: 'Operator Hall' },
      startDate: '2031-08-14',
      endDate: '2031-08-15',
      state: 'OPEN',
      opensAt: null,
    })

    // Every fan joins, is admitted, and buys: VIP on show 1, R on show 2, R on show 1.
    const purchases = [
      { show: firstShow, seatNumber: '3', price: prices.VIP },
      { show: secondShow, seatNumber: '12', price: prices.R },
      { show: firstShow, seatNumber: '30', price: prices.R },
    ]
    for (const [i, fan] of fans.entries()) {
      const joined = await call('POST', `${gatewayUrl}/v1/queue/tokens`, { accountId: fan.id, eventId })
      expect(joined.status).toBe(201)
      const token = joined.body.token as string
      await waitUntilReady(token)

      const dates = await call('GET', `${bookingUrl}/v1/events/${eventId}/schedules`, undefined, token)
      expect(dates.status).toBe(200)
      expect(dates.body.map((d: { scheduleId: number }) => d.scheduleId)).toEqual([firstShow, secondShow])
      for (const d of dates.body) expect(d).toMatchObject({ startTime: '19:30:00', totalSeats: 30 })

      const purchase = purchases[i] as (typeof purchases)[number]
      const map = await call('GET', `${bookingUrl}/v1/schedules/${purchase.show}/seats`, undefined, token)
      expect(map.body.seats).toHaveLength(30)
      expect(map.body.seats.map((s: { seatNumber: string }) => s.seatNumber)).toEqual(
        seats.map((s) => s.seatNumber),
      )
      for (const seat of map.body.seats)
        expect(seat.price).toBe(seat.seatType === 'VIP' ? prices.VIP : prices.R)
      const seat = map.body.seats.find((s: { seatNumber: string }) => s.seatNumber === purchase.seatNumber)
      expect(seat.status).toBe('AVAILABLE')

      const reserved = await call(
        'POST',
        `${bookingUrl}/v1/reservations`,
        { scheduleId: purchase.show, seatId: seat.seatId },
        token,
      )
      expect(reserved.status).toBe(201)
      expect(reserved.body).toMatchObject({
        accountId: fan.id,
        scheduleId: purchase.show,
        seatId: seat.seatId,
        seatNumber: purchase.seatNumber,
        price: purchase.price,
        balance: fan.charged - purchase.price,
      })
      const ticket = await call('GET', `${gatewayUrl}/v1/queue/tokens/${token}`)
      expect(ticket.body).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    }

    // Balances are exact, in the API and in the ledger.
    const expected = [400_000 - prices.VIP, 200_000 - prices.R, 120_000 - prices.R]
    for (const [i, fan] of fans.entries()) {
      const row = await env.db
        .selectFrom('ACCOUNT')
        .select('amount')
        .where('id', '=', fan.id)
        .executeTakeFirstOrThrow()
      expect(row.amount).toBe(expected[i])
    }
    await expectInvariants(env)

    // The operator sees the sales per show, and cannot remove a show that sold.
    const after = await call('GET', `${bookingUrl}/v1/admin/events/${eventId}`, undefined, ADMIN_KEY)
    expect(
      after.body.schedules.map((s: { scheduleId: number; seatsSold: number }) => [s.scheduleId, s.seatsSold]),
    ).toEqual([
      [firstShow, 2],
      [secondShow, 1],
    ])
    const removal = await call(
      'DELETE',
      `${bookingUrl}/v1/admin/schedules/${firstShow}`,
      undefined,
      ADMIN_KEY,
    )
    expect(removal).toMatchObject({ status: 409, body: { code: 'SCHEDULE_HAS_SALES' } })
  }, 60_000)
})
