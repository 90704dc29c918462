import type { App } from '@concert/http'
import { eventKeys, setSoldOut } from '@concert/queue'
import { readTokenState, sleep } from '@concert/queue/testing'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { accountBalance, appEnv, insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { addShow, admin, buildAdminBooking, createEvent, createVenue } from './admin-helpers.js'
import { bearer, expectInvariants } from './helpers.js'

// A private redis-server: the pre-queue test FLUSHALLs it after the draw.
const env = useTestEnv({ privateRedis: true })
let booking: App
let gateways: App[] = []
let venueId: number

const DAY = 24 * 60 * 60 * 1000
const tomorrow = () => new Date(Date.now() + DAY).toISOString().slice(0, 10)

async function gatewayCopies(count: number): Promise<App[]> {
  const copies: App[] = []
  for (let i = 0; i < count; i += 1) {
    const config = loadGatewayConfig(
      appEnv(env, {
        QUEUE_ADMIT_INTERVAL_MS: '50',
        // No short QUEUE_EVENTS_REFRESH_MS: an event created after start is picked up because
        // its publish is a sale change, which makes every copy re-read its event list at once.
        ISSUE_RATE_LIMIT_PER_MINUTE: '1000000',
        DB_POOL_SIZE: '4',
      }),
    )
    const app = await buildGatewayApp({ config, logger: false, workers: true })
    await app.ready()
    copies.push(app)
  }
  return copies
}

function join(accountId: string, eventId: number, copy = 0) {
  return (gateways[copy % gateways.length] as App).inject({
    method: 'POST',
    url: '/v1/queue/tokens',
    payload: { accountId, eventId },
  })
}

function poll(token: string, copy = 0) {
  return (gateways[copy % gateways.length] as App).inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
}

/** Admission times (Redis clock, ms) of the event's tokens in [from, to). */
async function admittedBetween(eventId: number, from: number, to: number): Promise<number> {
  return env.redis.zcount(eventKeys(env.keyPrefix, eventId).admitted, from, `(${to}`)
}

async function redisNow(): Promise<number> {
  const [seconds, micros] = await env.redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

beforeAll(async () => {
  booking = await buildAdminBooking(env)
  venueId = (await createVenue(booking, 'Lifecycle Hall', { seats: 10 })).id
  gateways = await gatewayCopies(2)
})
afterAll(async () => {
  for (const app of gateways) await app.close()
  await booking?.close()
})

describe('the operator steers admission live (two gateway copies)', () => {
  it('PATCH admitPerSecond 5 → 40 takes effect at once; paused admits nobody and moves nobody; resume continues from the head', async () => {
    const eventId = await createEvent(booking, venueId, 'Live control')
    await addShow(booking, eventId, { date: tomorrow(), startTime: '19:00:00' })
    expect(
      (
        await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, {
          admitPerSecond: 5,
          maxActive: 100_000,
        })
      ).status,
    ).toBe(200)
    const fans = await insertAccounts(env.db, 700, { prefix: 'live' })
    await sleep(400) // the copies have re-read their event lists (the PATCH was a sale change)
    const tokens: string[] = []
    for (let start = 0; start < fans.length; start += 100) {
      const answers = await Promise.all(fans.slice(start, start + 100).map((id, i) => join(id, eventId, i)))
      for (const answer of answers) tokens.push(answer.json().token)
    }
    await sleep(1_500)

    // 5/s → 40/s: the next 3 s admit 120 ± 15 %, measured from the admission times in Redis.
    const patched = await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, { admitPerSecond: 40 })
    expect(patched.status).toBe(200)
    expect(patched.body.settings).toMatchObject({ admitPerSecond: 40, maxActive: 100_000, paused: false })
    const from = (await redisNow()) + 200
    await sleep(3_400)
    const fast = await admittedBetween(eventId, from, from + 3_000)
    expect(fast / 3).toBeGreaterThanOrEqual(40 * 0.85)
    expect(fast / 3).toBeLessThanOrEqual(40 * 1.15)

    // Paused: nobody admitted for 3 s, and every waiter keeps its position.
    expect(
      (await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, { paused: true })).status,
    ).toBe(200)
    await sleep(200)
    const pausedFrom = await redisNow()
    const before = await Promise.all(tokens.map((t, i) => poll(t, i).then((r) => r.json())))
    await sleep(3_000)
    expect(await admittedBetween(eventId, pausedFrom, pausedFrom + 3_000)).toBe(0)
    const during = await Promise.all(tokens.map((t, i) => poll(t, i).then((r) => r.json())))
    expect(during.map((t) => [t.status, t.position])).toEqual(before.map((t) => [t.status, t.position]))
    expect(during.filter((t) => t.status === 'WAITING').every((t) => t.queueState === 'PAUSED')).toBe(true)
    const status = await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)
    expect(status.body).toMatchObject({ state: 'PAUSED', settings: { paused: true } })

    // Resume: admission continues from the head of the queue.
    const head = during.find((t) => t.status === 'WAITING' && t.position === 1)
    expect(head).toBeDefined()
    expect(
      (await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, { paused: false })).status,
    ).toBe(200)
    await sleep(600)
    expect((await poll(head.token)).json().status).toBe('READY')
    const resumed = await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)
    expect(resumed.body).toMatchObject({ state: 'OPEN', joinedTotal: 700 })
    expect(resumed.body.ready).toBeGreaterThan(fast)
  })
})

describe('a scheduled opening with a pre-queue (two gateway copies)', () => {
  it('draws the pre-queue once at opensAt (uniform, from a CSPRNG), FIFO after it, and keeps the draw through a Redis loss', async () => {
    const eventId = await createEvent(booking, venueId, 'Scheduled opening')
    await addShow(booking, eventId, { date: tomorrow(), startTime: '20:00:00' })
    const far = new Date(Date.now() + 2 * 60 * 60 * 1000).toISOString()
    // Before the pre-queue opens: joins are refused with the opening time.
    expect(
      (
        await admin(booking, 'PATCH', `/v1/admin/events/${eventId}`, {
          sale: { opensAt: far, preQueueMinutes: 15 },
        })
      ).status,
    ).toBe(200)
    await insertAccounts(env.db, 1, { prefix: 'pq-early' })
    const early = await join('pq-early-1', eventId)
    expect(early.statusCode).toBe(409)
    expect(early.json()).toMatchObject({ code: 'SALE_NOT_OPEN', opensAt: far })

    // In the pre-queue window: 1,000 fans join one after another; nobody has a place yet.
    expect(
      (
        await admin(booking, 'PATCH', `/v1/admin/events/${eventId}`, {
          sale: { opensAt: far, preQueueMinutes: 180 },
        })
      ).status,
    ).toBe(200)
    const early1000 = await insertAccounts(env.db, 1000, { prefix: 'pq' })
    const inPreQueue: string[] = []
    for (const [i, id] of early1000.entries()) {
      const answer = await join(id, eventId, i)
      expect(answer.statusCode).toBe(201)
      const ticket = answer.json()
      expect(ticket).toMatchObject({
        status: 'WAITING',
        position: null,
        queueState: 'PRE_QUEUE',
        opensAt: far,
      })
      inPreQueue.push(ticket.token)
    }
    const k = eventKeys(env.keyPrefix, eventId)

    // The opening, a moment from now; both copies tick, one draws.
    const opensAt = new Date(Date.now() + 1_500).toISOString()
    expect((await admin(booking, 'PATCH', `/v1/admin/events/${eventId}`, { sale: { opensAt } })).status).toBe(
      200,
    )
    await sleep(2_500)
    expect(await env.redis.hget(k.sale, 'drawn')).toBe('1')
    const placeOf = async (t: string) => Number((await readTokenState(env.redis, k, t))?.place)
    const places = await Promise.all(inPreQueue.map(placeOf))
    expect([...places].sort((a, b) => a - b)).toEqual(early1000.map((_, i) => i + 1))
    // Join order does not decide the places. Under a uniform draw Spearman's rho of 1,000
    // places is about normal with a standard deviation of 1/sqrt(999) ≈ 0.032: |rho| < 0.2
    // (6.3 of them) fails a fair draw about once in 4·10⁹ runs, where 0.1 (3.2 of them)
    // failed about once in 600 (and did, in a CI run); places in join order read 1.
    expect(
      Math.abs(
        spearman(
          places.map((_, i) => i + 1),
          places,
        ),
      ),
    ).toBeLessThan(0.2)
    let drawnByCopies = 0
    for (const app of gateways)
      drawnByCopies += drawnCounter(await app.inject({ method: 'GET', url: '/metrics' }))
    expect(drawnByCopies).toBe(1000)
    const row = await env.db
      .selectFrom('QUEUE_EPOCH')
      .select('drawn_at')
      .where('event_id', '=', eventId)
      .execute()
    expect(row[0]?.drawn_at).toBeInstanceOf(Date)

    // After the opening: first come, first served behind the whole pre-queue.
    const late100 = await insertAccounts(env.db, 100, { prefix: 'late' })
    const lateTokens: string[] = []
    for (const id of late100) {
      const answer = await join(id, eventId)
      expect(answer.statusCode).toBe(201)
      expect(answer.json().queueState).not.toBe('PRE_QUEUE')
      lateTokens.push(answer.json().token)
    }
    const latePlaces = await Promise.all(lateTokens.map(placeOf))
    expect(latePlaces).toEqual(late100.map((_, i) => 1001 + i))

    // Redis loses everything after the draw: the same places come back from MySQL.
    for (const app of gateways) await app.mirrorWorker.drain(eventId)
    const all = [...inPreQueue, ...lateTokens]
    const placesBefore = [...places, ...latePlaces]
    await env.localRedis?.flushAll()
    const after = await Promise.all(all.map((t, i) => poll(t, i)))
    expect(after.map((r) => r.statusCode)).toEqual(all.map(() => 200))
    const placesAfter = await Promise.all(all.map(placeOf))
    expect(placesAfter).toEqual(placesBefore)
    expect(await env.redis.hget(k.sale, 'drawn')).toBe('1')
  })
})

describe('sell-out', () => {
  it('10 seats, 200 waiters: the 10th sale ends every WAITING ticket SOLD_OUT in Redis before it is answered and in QUEUE_TOKEN within 1 s; joins get 409 EVENT_SOLD_OUT', async () => {
    const eventId = await createEvent(booking, venueId, 'Sell-out')
    const scheduleId = await addShow(booking, eventId, { date: tomorrow(), startTime: '18:00:00' })
    expect(
      (
        await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, {
          maxActive: 10,
          admitPerSecond: 1000,
        })
      ).status,
    ).toBe(200)
    // Ten buyers, none of them among the 200 waiters, are READY before anyone else joins.
    const buyers = await insertAccounts(env.db, 10, { prefix: 'buyer', balance: 1_000_000 })
    const waiters = await insertAccounts(env.db, 200, { prefix: 'waiter' })
    const buyerTokens = await Promise.all(
      buyers.map(async (id) => (await join(id, eventId)).json().token as string),
    )
    for (;;) {
      const tickets = await Promise.all(buyerTokens.map((t) => poll(t).then((r) => r.json())))
      if (tickets.every((t) => t.status === 'READY')) break
      await sleep(50)
    }
    const seats = (
      await booking.inject({
        method: 'GET',
        url: `/v1/schedules/${scheduleId}/seats`,
        headers: bearer(buyerTokens[0] as string),
      })
    ).json().seats as Array<{ seatId: number }>
    expect(seats).toHaveLength(10)
    const sold: number[] = []
    const buy = async (i: number) => {
      const sale = await booking.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer(buyerTokens[i] as string),
        payload: { scheduleId, seatId: seats[i]?.seatId },
      })
      const answeredAt = performance.now()
      expect(sale.statusCode).toBe(201)
      sold.push(sale.json().reservationId)
      return answeredAt
    }
    for (let i = 0; i < 9; i += 1) await buy(i)
    // The last buyer's READY slot is the only one left open: with maxActive 1 nobody of the
    // 200 is admitted, so all of them are WAITING when the last seat sells.
    expect(
      (await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, { maxActive: 1 })).status,
    ).toBe(200)
    const k = eventKeys(env.keyPrefix, eventId)
    expect(await env.redis.zcard(k.active)).toBe(1)
    const waiterTokens: string[] = []
    for (const [i, id] of waiters.entries()) {
      const answer = await join(id, eventId, i)
      expect(answer.statusCode).toBe(201)
      waiterTokens.push(answer.json().token)
    }
    // As in a real sale, the waiters joined well before the end: the mirror has their rows.
    const mirroredAs = async (status: string, reason: string | null) => {
      const rows = await env.db
        .selectFrom('QUEUE_TOKEN')
        .select(['status', 'reason'])
        .where('token', 'in', waiterTokens)
        .execute()
      return (
        rows.length === waiterTokens.length && rows.every((r) => r.status === status && r.reason === reason)
      )
    }
    await vi.waitFor(async () => expect(await mirroredAs('WAITING', null)).toBe(true), {
      timeout: 10_000,
      interval: 50,
    })
    expect((await env.redis.zrange(k.waiting, 0, -1)).sort()).toEqual([...waiterTokens].sort())
    expect(await env.redis.zcard(k.active)).toBe(1)
    const answeredAt = await buy(9)

    // The booking copy that sold the last seat ends the waiters itself (one admission tick,
    // up to QUEUE_ADMIT_BATCH of them) before it answers: no gateway tick is waited for.
    const states = await Promise.all(waiterTokens.map((t) => readTokenState(env.redis, k, t)))
    expect(states.map((state) => [state?.status, state?.reason])).toEqual(
      waiterTokens.map(() => ['EXPIRED', 'SOLD_OUT']),
    )
    expect(await env.redis.zcard(k.waiting)).toBe(0)
    // The gateways' mirror loops (production interval) write all 200 to QUEUE_TOKEN within 1 s
    // of that answer (SPEC §8, issue 9's acceptance: a stated time bound, so it is measured).
    let mirroredAfterMs = Number.POSITIVE_INFINITY
    while (performance.now() - answeredAt < 3_000) {
      if (await mirroredAs('EXPIRED', 'SOLD_OUT')) {
        mirroredAfterMs = performance.now() - answeredAt
        break
      }
      await sleep(50)
    }
    expect(mirroredAfterMs).toBeLessThanOrEqual(1_000)
    const polled = (await poll(waiterTokens[0] as string)).json()
    expect(polled).toMatchObject({
      status: 'EXPIRED',
      reason: 'SOLD_OUT',
      queueState: 'SOLD_OUT',
      pollAfterMs: 0,
    })
    const [newcomer] = await insertAccounts(env.db, 1, { prefix: 'newcomer', balance: 1_000_000 })
    const late = await join(newcomer as string, eventId)
    expect(late.statusCode).toBe(409)
    expect(late.json().code).toBe('EVENT_SOLD_OUT')
    const status = await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)
    expect(status.body).toMatchObject({
      state: 'SOLD_OUT',
      seatsTotal: 10,
      seatsSold: 10,
      seatsLeft: 0,
      waiting: 0,
    })
    await expectInvariants(env)

    // A refund puts a seat back: the event is OPEN again, the money is back, the seat is for sale.
    const balanceOf = (id: string) => accountBalance(env.db, id)
    const before = await balanceOf(buyers[0] as string)
    const refund = await admin(booking, 'POST', `/v1/admin/reservations/${sold[0]}/refund`, {
      reason: 'test',
    })
    expect(refund.status).toBe(200)
    expect(await balanceOf(buyers[0] as string)).toBe(before + refund.body.refunded)
    const reopened = await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)
    expect(reopened.body).toMatchObject({ state: 'OPEN', seatsSold: 9, seatsLeft: 1 })
    const again = await join(newcomer as string, eventId)
    expect(again.statusCode).toBe(201)
    for (;;) {
      if ((await poll(again.json().token)).json().status === 'READY') break
      await sleep(50)
    }
    const map = (
      await booking.inject({
        method: 'GET',
        url: `/v1/schedules/${scheduleId}/seats`,
        headers: bearer(again.json().token),
      })
    ).json().seats as Array<{ seatId: number; status: string }>
    expect(map.filter((seat) => seat.status === 'AVAILABLE').map((seat) => seat.seatId)).toEqual([
      seats[0]?.seatId,
    ])
    // Refunding the same sale again moves no money.
    const twice = await admin(booking, 'POST', `/v1/admin/reservations/${sold[0]}/refund`, {
      reason: 'again',
    })
    expect(twice.status).toBe(200)
    expect(await balanceOf(buyers[0] as string)).toBe(before + refund.body.refunded)
    // A refund whose first attempt died between its commit and reopening the sale (the flag
    // still says sold out): the operator's retry, answered as a replay, reopens it.
    await setSoldOut(env.db, env.redis, k, true)
    expect((await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)).body).toMatchObject({
      state: 'SOLD_OUT',
    })
    const retried = await admin(booking, 'POST', `/v1/admin/reservations/${sold[0]}/refund`, {
      reason: 'retry',
    })
    expect(retried.status).toBe(200)
    expect((await admin(booking, 'GET', `/v1/admin/events/${eventId}/queue`)).body).toMatchObject({
      state: 'OPEN',
      seatsLeft: 1,
    })
    expect(await balanceOf(buyers[0] as string)).toBe(before + refund.body.refunded)
    // The seat sold again, then the refund replayed once more: the new sale's SOLD marker
    // stays, so the seat's later buyers are still refused in Redis.
    const resold = await booking.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(again.json().token),
      payload: { scheduleId, seatId: seats[0]?.seatId },
    })
    expect(resold.statusCode).toBe(201)
    const marker = `${k.seatKeyBase(scheduleId)}${seats[0]?.seatId}`
    expect(await env.redis.get(marker)).toBe('!sold')
    const replayedLate = await admin(booking, 'POST', `/v1/admin/reservations/${sold[0]}/refund`, {
      reason: 'late',
    })
    expect(replayedLate.status).toBe(200)
    expect(await env.redis.get(marker)).toBe('!sold')
    await expectInvariants(env)
  })
})

describe('closing', () => {
  it('at closesAt every WAITING ticket ends SALE_CLOSED and joins get 409 SALE_CLOSED', async () => {
    const eventId = await createEvent(booking, venueId, 'Closing')
    await addShow(booking, eventId, { date: tomorrow(), startTime: '21:00:00' })
    expect(
      (
        await admin(booking, 'PATCH', `/v1/admin/events/${eventId}/queue`, {
          maxActive: 1,
          admitPerSecond: 1,
        })
      ).status,
    ).toBe(200)
    const fans = await insertAccounts(env.db, 30, { prefix: 'closing' })
    await sleep(400)
    const tokens: string[] = []
    for (const [i, id] of fans.entries()) tokens.push((await join(id, eventId, i)).json().token)
    const closesAt = new Date(Date.now() + 1_000).toISOString()
    expect(
      (await admin(booking, 'PATCH', `/v1/admin/events/${eventId}`, { sale: { closesAt } })).status,
    ).toBe(200)
    await sleep(1_800)
    const tickets = await Promise.all(tokens.map((t, i) => poll(t, i).then((r) => r.json())))
    const ended = tickets.filter((t) => t.reason === 'SALE_CLOSED')
    // At most one fan was admitted (maxActive 1) before closing; everyone else was waiting.
    expect(ended.length).toBeGreaterThanOrEqual(fans.length - 1)
    expect(tickets.filter((t) => t.status === 'WAITING')).toHaveLength(0)
    for (const t of ended) expect(t).toMatchObject({ status: 'EXPIRED', queueState: 'CLOSED' })
    const [newcomer] = await insertAccounts(env.db, 1, { prefix: 'too-late' })
    const late = await join(newcomer as string, eventId)
    expect(late.statusCode).toBe(409)
    expect(late.json().code).toBe('SALE_CLOSED')
  })
})

function spearman(xs: number[], ys: number[]): number {
  // Both are permutations of 1..n (no ties): ρ = 1 − 6 Σd² / (n (n² − 1)).
  const n = xs.length
  let sum = 0
  for (let i = 0; i < n; i += 1) sum += ((xs[i] as number) - (ys[i] as number)) ** 2
  return 1 - (6 * sum) / (n * (n * n - 1))
}

function drawnCounter(metrics: { body: string }): number {
  return metrics.body
    .split('\n')
    .filter((line) => line.startsWith('queue_prequeue_drawn_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
}
