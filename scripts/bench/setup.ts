import { type BookingClient, createBookingClient } from '@concert/client'
import { createDb, type Database } from '@concert/db'
import { loadQueueSettings, QueueService } from '@concert/queue'
import { AppError } from '@concert/shared'
import { insertAccounts } from '@concert/testing/fixtures'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import type { Kysely } from 'kysely'
import { adminKey, jwtSecret, mysqlUrl, redisPrefix, settings } from './config.js'

/**
 * The bench's data, made the way an operator and fans would: venues, events and
 * shows through the booking API's admin routes (so the apps' caches and the
 * queue's sale hash are what production would have), accounts and queue places
 * through the same library calls the apps make (a bulk insert, QueueService.join).
 */

export interface Stores {
  db: Kysely<Database>
  redis: Redis
  queue: QueueService
}

export function openStores(redisUrl: string): Stores {
  const db = createDb({ url: mysqlUrl, poolSize: 8 })
  const redis = new Redis(redisUrl)
  const queue = new QueueService({ redis, db, prefix: redisPrefix, settings: loadQueueSettings({}) })
  return { db, redis, queue }
}

export async function closeStores(stores: Stores): Promise<void> {
  stores.redis.disconnect()
  await stores.db.destroy()
}

/** The booking API's admin routes through the generated client, with the run's key. */
export function adminApi(bookingUrl: string): BookingClient {
  return createBookingClient(bookingUrl, { headers: { authorization: `Bearer ${adminKey}` } })
}

type Admin = BookingClient

/** The answer's body, or an error naming the call and the problem the API sent. */
async function ok<T>(
  call: string,
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await request
  if (data === undefined) throw new Error(`${call} → ${response.status}: ${JSON.stringify(error)}`)
  return data
}

/** yyyy-mm-dd, `days` after 2027-01-01 (shows far enough ahead to stay on sale). */
function showDate(days: number): string {
  return new Date(Date.UTC(2027, 0, 1 + days)).toISOString().slice(0, 10)
}

export interface Catalogue {
  /** The purchase event: its own venue with one seat per purchase plus the hot seat. */
  purchaseEvent: number
  purchaseVenue: number
  /** Show bought by the reserve+pay phase and the hot seat. */
  purchaseShow: number
  /** Show bought by the purchase floor (same event, same seats, its own rows). */
  floorShow: number
  /** Shows the warm-up purchases buy before reserve+pay and before its floor (settings.purchaseWarmUps). */
  warmUpShow: number
  floorWarmUpShow: number
  seatIds: number[]
  hotSeat: number
  /** One seat per warm-up burst of the hot seat (settings.hotSeatWarmUps). */
  warmUpSeats: number[]
  price: number
  /** The event with `settings.shows` shows at the demo venue (dates listing, seat map). */
  datesEvent: number
  datesFirstShow: number
  /** New joins land here. */
  joinEvent: number
  /** Paused, idle waiters kept a day: the big queue. */
  waitersEvent: number
  /** Paused, idle waiters kept a day: 1,000 places, polled in rounds alternating with the big queue's. */
  smallWaitersEvent: number
  /** Paused, idle waiters kept a day: the SSE streams. */
  sseEvent: number
}

export async function createCatalogue(admin: Admin): Promise<Catalogue> {
  const price = 1_000
  const venue = await ok(
    'POST /v1/admin/venues',
    admin.POST('/v1/admin/venues', {
      body: {
        name: `Bench Arena ${Date.now()}`,
        timeZone: 'Asia/Seoul',
        seats: Array.from({ length: settings.purchases + settings.hotSeatWarmUps + 1 }, (_, i) => ({
          seatNumber: String(i + 1),
          area: 'A',
          seatType: 'R',
        })),
      },
    }),
  )
  const seats = venue.seats.map((seat) => seat.seatId).sort((a, b) => a - b)
  const hotSeat = seats.pop() as number
  const warmUpSeats = seats.splice(settings.purchases)
  const dayLong = { activeTtlSeconds: 86_400, waitingIdleSeconds: 86_400 }
  const purchaseEvent = await createEvent(
    admin,
    'Bench purchases',
    venue.id,
    { R: price },
    {
      maxActive: 1_000_000,
      admitPerSecond: 100_000,
      ...dayLong,
    },
  )
  const purchaseShow = await createShow(admin, purchaseEvent, 0)
  const floorShow = await createShow(admin, purchaseEvent, 1)
  const warmUpShow = await createShow(admin, purchaseEvent, 2)
  const floorWarmUpShow = await createShow(admin, purchaseEvent, 3)

  // The demo venue (50 seats): the dates listing and the seat map as the issue measured them.
  const demo = await ok(
    'GET /v1/admin/venues/1',
    admin.GET('/v1/admin/venues/{venueId}', { params: { path: { venueId: 1 } } }),
  )
  const demoPrices = Object.fromEntries(demo.seats.map((seat) => [seat.seatType, price]))
  // As many READY at once as the read loads have readers (BENCH_READERS).
  const datesEvent = await createEvent(admin, 'Bench dates', 1, demoPrices, {
    maxActive: 1_000_000,
    admitPerSecond: 100_000,
    ...dayLong,
  })
  let datesFirstShow = 0
  for (let i = 0; i < settings.shows; i += 1) {
    const id = await createShow(admin, datesEvent, i)
    if (i === 0) datesFirstShow = id
  }
  const joinEvent = await createEvent(admin, 'Bench joins', 1, demoPrices, dayLong)
  await createShow(admin, joinEvent, 0)
  const waitersEvent = await createEvent(admin, 'Bench waiters', 1, demoPrices, dayLong)
  await createShow(admin, waitersEvent, 0)
  const smallWaitersEvent = await createEvent(admin, 'Bench waiters, 1k', 1, demoPrices, dayLong)
  await createShow(admin, smallWaitersEvent, 0)
  const sseEvent = await createEvent(admin, 'Bench SSE', 1, demoPrices, dayLong)
  await createShow(admin, sseEvent, 0)
  // Nobody is admitted from these: places stay put while they are measured.
  for (const eventId of [waitersEvent, smallWaitersEvent, sseEvent]) {
    await ok(
      `PATCH /v1/admin/events/${eventId}/queue`,
      admin.PATCH('/v1/admin/events/{eventId}/queue', {
        params: { path: { eventId } },
        body: { paused: true },
      }),
    )
  }
  return {
    purchaseEvent,
    purchaseVenue: venue.id,
    purchaseShow,
    floorShow,
    warmUpShow,
    floorWarmUpShow,
    seatIds: seats,
    hotSeat,
    warmUpSeats,
    price,
    datesEvent,
    datesFirstShow,
    joinEvent,
    waitersEvent,
    smallWaitersEvent,
    sseEvent,
  }
}

async function createEvent(
  admin: Admin,
  title: string,
  venueId: number,
  prices: Record<string, number>,
  queue: {
    maxActive?: number
    admitPerSecond?: number
    activeTtlSeconds: number
    waitingIdleSeconds: number
  },
): Promise<number> {
  const event = await ok(
    'POST /v1/admin/events',
    admin.POST('/v1/admin/events', { body: { title, venueId, prices, queue } }),
  )
  return event.id
}

/**
 * `count` events on sale that nobody queues for (the idle phase): one small venue, one
 * show each, made through the admin routes as an operator would.
 */
export async function createIdleEvents(admin: Admin, count: number): Promise<number[]> {
  const venue = await ok(
    'POST /v1/admin/venues',
    admin.POST('/v1/admin/venues', {
      body: {
        name: `Bench Club ${Date.now()}`,
        timeZone: 'Asia/Seoul',
        seats: [1, 2].map((n) => ({ seatNumber: String(n), area: 'A', seatType: 'R' })),
      },
    }),
  )
  const ids: number[] = []
  for (let i = 0; i < count; i += 1) {
    const eventId = await createEvent(
      admin,
      `Bench idle ${i + 1}`,
      venue.id,
      { R: 1_000 },
      {
        activeTtlSeconds: 300,
        waitingIdleSeconds: 120,
      },
    )
    await createShow(admin, eventId, 400 + i)
    ids.push(eventId)
  }
  return ids
}

async function createShow(admin: Admin, eventId: number, day: number): Promise<number> {
  const show = await ok(
    `POST /v1/admin/events/${eventId}/schedules`,
    admin.POST('/v1/admin/events/{eventId}/schedules', {
      params: { path: { eventId } },
      body: { date: showDate(day), startTime: '19:30:00' },
    }),
  )
  return show.scheduleId
}

/** `count` accounts `<prefix>-<n>` with a balance (opening CHARGE, so the ledger adds up). */
export function createAccounts(
  stores: Stores,
  prefix: string,
  count: number,
  balance = 0,
): Promise<string[]> {
  return insertAccounts(stores.db, count, { prefix, balance })
}

/** Account JWTs (SPEC §11) as the identity provider would issue them, valid for an hour. */
export async function signAccountTokens(accountIds: readonly string[]): Promise<string[]> {
  const key = new TextEncoder().encode(jwtSecret)
  const now = Math.floor(Date.now() / 1000)
  const tokens: string[] = []
  for (const id of accountIds) {
    tokens.push(
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(id)
        .setIssuedAt(now)
        .setExpirationTime(now + 3_600)
        .sign(key),
    )
  }
  return tokens
}

/**
 * Joins every account to the event's queue (QueueService.join: the gateway's join
 * without HTTP, so the durable QUEUE_TOKEN write included), `parallel` at a time,
 * in the order given; returns the tokens in that order. `onProgress` sees the count.
 */
export async function joinAll(
  stores: Stores,
  eventId: number,
  accountIds: readonly string[],
  parallel = 400,
  onProgress?: (done: number) => void,
): Promise<string[]> {
  const tokens: string[] = new Array(accountIds.length)
  let next = 0
  let done = 0
  const worker = async () => {
    for (;;) {
      const i = next
      next += 1
      if (i >= accountIds.length) return
      tokens[i] = await joinOne(stores, eventId, accountIds[i] as string)
      done += 1
      if (onProgress && done % 50_000 === 0) onProgress(done)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, accountIds.length) }, worker))
  return tokens
}

/**
 * One join, retried while the queue answers 503: the mirror's backlog is full (joins
 * wait for MySQL to catch up, as fans would be told to) or the durable write timed out
 * (joining again returns the same ticket).
 */
async function joinOne(stores: Stores, eventId: number, accountId: string): Promise<string> {
  for (;;) {
    try {
      return (await stores.queue.join(eventId, accountId)).ticket.token
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'SERVICE_UNAVAILABLE') throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** Waits until the event has `ready` READY tokens (the gateway's admission loop admits them). */
export async function waitUntilReady(stores: Stores, eventId: number, ready: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await stores.queue.status(eventId)
    if ((status?.ready ?? 0) >= ready) return
    if (Date.now() > deadline) {
      throw new Error(`event ${eventId}: ${status?.ready ?? 0} READY of ${ready} after ${timeoutMs} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
