import { readFileSync } from 'node:fs'
import type { App } from '@concert/http'
import { makeQueue } from '@concert/queue/testing'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import {
  appEnv,
  createEvent,
  insertAccounts,
  type ParsedMetric,
  parseMetrics,
  repoRoot,
  sampleValue,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, addShow, admin, createVenue, wallClock } from './admin-helpers.js'
import { bearer, buildBooking, readyTokens } from './helpers.js'

/*
 * What an operator watches during an on-sale is on /metrics of each app, in
 * Prometheus' text format (parsed strictly: one bad line fails the test). The
 * traffic below makes each new series move, and the alert rules and the
 * Grafana dashboard in docker/ may only use metrics that really exist.
 */

const env = useTestEnv()
let gateway: App
let booking: App
let gatewayUrl: string
let eventId: number
/** A demo event the operator paused, with settings of its own. */
let pausedEventId: number
/** Sales no metric may name: one closed, one whose last show is over. */
let closedEventId: number
let endedEventId: number
/** An event at a venue 14 hours ahead of UTC: one show started a minute ago, one starts in ten. */
let zoneEventId: number
let streamAbort: AbortController
/** Held until the end: fetch cancels the body of a Response collected unread, which would end the stream. */
let heldStream: Response
let gatewayMetrics: Map<string, ParsedMetric>
let bookingMetrics: Map<string, ParsedMetric>

const RATE_LIMIT = 6
const ZONE = 'Pacific/Kiritimati'
const ZONE_SEATS = 6

async function scrape(app: App): Promise<Map<string, ParsedMetric>> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toContain('text/plain')
  return parseMetrics(response.body)
}

const join = (accountId: string) =>
  gateway.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId, eventId } })

/** Every event a per-event metric names. */
const eventsOf = (metric: ParsedMetric | undefined) =>
  [...new Set(metric?.samples.map((sample) => Number(sample.labels.event)))].sort((a, b) => a - b)

beforeAll(async () => {
  const catalog = await seedCatalog(env.db)
  eventId = catalog.eventId
  pausedEventId = catalog.otherEventId
  await insertAccounts(env.db, 3, { prefix: 'm' })
  // The deployment's queue defaults, the same for both apps (the operator API shows them too).
  const defaults = { QUEUE_MAX_ACTIVE: '1', QUEUE_ADMIT_PER_SECOND: '7' }
  booking = await buildBooking(
    env,
    { BUILD_REVISION: 'metrics-test', ADMIN_API_KEYS: ADMIN_KEY, ...defaults },
    { poolSize: 2 },
  )

  // The operator's side, before the gateway starts: a paused event with settings of its
  // own, a closed sale, an event whose last show is over, and shows around now far east of UTC.
  const patched = await admin(booking, 'PATCH', `/v1/admin/events/${pausedEventId}/queue`, {
    maxActive: 4,
    admitPerSecond: 3,
    activeTtlSeconds: 90,
    waitingIdleSeconds: 45,
    paused: true,
  })
  expect(patched.status).toBe(200)
  const venue = await createVenue(booking, 'Metrics Hall', { seats: ZONE_SEATS, timeZone: ZONE })
  const created = await admin(booking, 'POST', '/v1/admin/events', {
    title: 'Closed sale',
    venueId: venue.id,
    prices: { VIP: 1_000, R: 1_000 },
    sale: { closesAt: new Date(Date.now() - 60_000).toISOString() },
  })
  expect(created.status).toBe(201)
  closedEventId = created.body.id
  await addShow(booking, closedEventId, wallClock(ZONE, 24 * 3_600_000))
  endedEventId = await createEvent(env.db, 'Over')
  await env.db
    .updateTable('EVENT')
    .set({ start_date: '2001-01-01', end_date: '2001-01-02' })
    .where('id', '=', endedEventId)
    .execute()
  const zoneEvent = await admin(booking, 'POST', '/v1/admin/events', {
    title: 'Around now',
    venueId: venue.id,
    prices: { VIP: 1_000, R: 1_000 },
  })
  expect(zoneEvent.status).toBe(201)
  zoneEventId = zoneEvent.body.id
  await addShow(booking, zoneEventId, wallClock(ZONE, -60_000))
  const upcoming = await addShow(booking, zoneEventId, wallClock(ZONE, 10 * 60_000))
  // One seat of the upcoming show sold: seats sold 1, left ZONE_SEATS − 1.
  const [buyer] = (await insertAccounts(env.db, 1, { prefix: 'zone', balance: 10_000 })) as [string]
  const buyerToken = (await readyTokens(env, zoneEventId, [buyer])).get(buyer) as string
  const sale = await booking.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(buyerToken),
    payload: { scheduleId: upcoming, seatId: venue.seats[0]?.seatId },
  })
  expect(sale.statusCode).toBe(201)

  const config = loadGatewayConfig(
    appEnv(env, {
      DB_POOL_SIZE: '2',
      ...defaults,
      QUEUE_ADMIT_INTERVAL_MS: '50',
      ISSUE_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      BUILD_REVISION: 'metrics-test',
    }),
  )
  gateway = await buildGatewayApp({ config, logger: false, workers: true })
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const address = gateway.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  gatewayUrl = `http://127.0.0.1:${address.port}`

  // m-1 is admitted (the READY cap is 1), m-2 waits behind it and follows its ticket over SSE.
  const first = await join('m-1')
  expect(first.statusCode).toBe(201)
  const waiting = await join('m-2')
  expect(waiting.statusCode).toBe(201)
  // Rejoins up to the per-IP limit, then one more: 429.
  const statuses: number[] = []
  for (let sent = 2; sent <= RATE_LIMIT; sent += 1) statuses.push((await join('m-1')).statusCode)
  expect(statuses).toEqual([200, 200, 200, 200, 429])
  streamAbort = new AbortController()
  heldStream = await fetch(`${gatewayUrl}/v1/queue/tokens/${waiting.json().token}/stream`, {
    signal: streamAbort.signal,
  })
  expect(heldStream.status).toBe(200)
  const token = first.json().token as string
  await waitFor(
    async () =>
      (await gateway.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })).json().status === 'READY',
    'm-1 admitted',
  )
  // m-3 joins behind m-2 and leaves; the gateway's mirror writes LEFT to QUEUE_TOKEN.
  const { queue } = makeQueue(env)
  const leaver = (await queue.join(eventId, 'm-3')).ticket.token
  expect(await queue.leave(leaver)).toBe('LEFT')
  await waitFor(
    async () =>
      (
        await env.db
          .selectFrom('QUEUE_TOKEN')
          .select('reason')
          .where('token', '=', leaver)
          .executeTakeFirstOrThrow()
      ).reason === 'LEFT',
    'm-3 left, mirrored',
  )
  // The API docs and a catalogue read on booking-api: one must be measured, the other not.
  expect((await booking.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200)
  expect((await booking.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode).toBe(200)
  expect((await booking.inject({ method: 'GET', url: '/v1/events' })).statusCode).toBe(200)

  // The first scrapes: nothing has counted QUEUE_TOKEN's totals before them.
  gatewayMetrics = await scrape(gateway)
  bookingMetrics = await scrape(booking)
})

afterAll(async () => {
  streamAbort?.abort()
  await heldStream?.body?.cancel().catch(() => undefined)
  await gateway?.close()
  await booking?.close()
})

describe('gateway /metrics', () => {
  it('counts joins by outcome, 429s included', () => {
    const joins = gatewayMetrics.get('queue_join_requests_total')
    expect(joins?.type).toBe('counter')
    expect(sampleValue(joins, { outcome: 'joined' })).toBe(2)
    expect(sampleValue(joins, { outcome: 'rejoined' })).toBe(RATE_LIMIT - 2)
    expect(sampleValue(joins, { outcome: 'rate_limited' })).toBe(1)
    expect(sampleValue(joins, { outcome: 'unavailable' })).toBe(0)
  })

  it('shows open SSE streams and refused ones', () => {
    expect(sampleValue(gatewayMetrics.get('queue_sse_streams_open'))).toBe(1)
    expect(sampleValue(gatewayMetrics.get('queue_sse_streams_refused_total'))).toBe(0)
  })

  it('times the background loops and counts their failures', () => {
    const ticks = gatewayMetrics.get('queue_loop_tick_seconds')
    expect(ticks?.type).toBe('histogram')
    expect(sampleValue(ticks, { loop: 'admission' })).toBeGreaterThan(0)
    expect(sampleValue(ticks, { loop: 'mirror' })).toBeGreaterThan(0)
    const failures = gatewayMetrics.get('queue_loop_tick_failures_total')
    for (const loop of ['admission', 'mirror', 'events']) expect(sampleValue(failures, { loop })).toBe(0)
  })

  it('counts queue set-ups (recoveries)', () => {
    expect(
      sampleValue(gatewayMetrics.get('queue_recoveries_total'), { outcome: 'initialised' }),
    ).toBeGreaterThan(0)
    expect(sampleValue(gatewayMetrics.get('queue_recoveries_total'), { outcome: 'rebuilt' })).toBe(0)
  })
})

describe('gateway /metrics per event: the figures of GET /v1/admin/events/{id}/queue', () => {
  const figure = (name: string, event: number, labels: Record<string, string> = {}) =>
    sampleValue(gatewayMetrics.get(name), { event: String(event), ...labels })

  it('names only the events whose sale can still move (not closed, last show not over)', () => {
    const live = [eventId, pausedEventId, zoneEventId].sort((a, b) => a - b)
    for (const name of [
      'queue_sale_state',
      'queue_waiting',
      'queue_ready',
      'queue_admitted_last_minute',
      'queue_oldest_waiter_age_seconds',
      'queue_tokens',
      'queue_configured_admit_per_second',
      'queue_configured_max_active',
      'queue_configured_active_ttl_seconds',
      'queue_configured_waiting_idle_seconds',
      'queue_configured_paused',
    ]) {
      expect(gatewayMetrics.get(name)?.type, name).toBe('gauge')
      expect(eventsOf(gatewayMetrics.get(name)), name).toEqual(live)
    }
    expect(live).not.toContain(closedEventId)
    expect(live).not.toContain(endedEventId)
  })

  it('an open sale: its state, live counts, totals from QUEUE_TOKEN and the deployment’s settings', () => {
    for (const state of ['SCHEDULED', 'PRE_QUEUE', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED'])
      expect(figure('queue_sale_state', eventId, { state }), state).toBe(state === 'OPEN' ? 1 : 0)
    expect(figure('queue_waiting', eventId)).toBe(1)
    expect(figure('queue_ready', eventId)).toBe(1)
    expect(figure('queue_admitted_last_minute', eventId)).toBe(1)
    expect(figure('queue_oldest_waiter_age_seconds', eventId)).toBeGreaterThan(0)
    const totals = { joined: 3, completed: 0, abandoned: 0, timed_out: 0, left: 1 }
    for (const [outcome, value] of Object.entries(totals))
      expect(figure('queue_tokens', eventId, { outcome }), outcome).toBe(value)
    expect(figure('queue_configured_admit_per_second', eventId)).toBe(7)
    expect(figure('queue_configured_max_active', eventId)).toBe(1)
    expect(figure('queue_configured_active_ttl_seconds', eventId)).toBe(300)
    expect(figure('queue_configured_waiting_idle_seconds', eventId)).toBe(120)
    expect(figure('queue_configured_paused', eventId)).toBe(0)
  })

  it('a paused sale: the settings the operator PATCHed, not the defaults', () => {
    expect(figure('queue_sale_state', pausedEventId, { state: 'PAUSED' })).toBe(1)
    expect(figure('queue_sale_state', pausedEventId, { state: 'OPEN' })).toBe(0)
    expect(figure('queue_configured_admit_per_second', pausedEventId)).toBe(3)
    expect(figure('queue_configured_max_active', pausedEventId)).toBe(4)
    expect(figure('queue_configured_active_ttl_seconds', pausedEventId)).toBe(90)
    expect(figure('queue_configured_waiting_idle_seconds', pausedEventId)).toBe(45)
    expect(figure('queue_configured_paused', pausedEventId)).toBe(1)
    expect(figure('queue_waiting', pausedEventId)).toBe(0)
    expect(figure('queue_oldest_waiter_age_seconds', pausedEventId)).toBe(0)
    expect(figure('queue_tokens', pausedEventId, { outcome: 'joined' })).toBe(0)
  })

  it.each([
    ['the open sale', () => eventId],
    ['the paused sale', () => pausedEventId],
  ])('%s: every figure equals what the operator API answers', async (_name, event) => {
    const status = await admin(booking, 'GET', `/v1/admin/events/${event()}/queue`)
    expect(status.status).toBe(200)
    const f = status.body
    const id = event()
    expect(figure('queue_sale_state', id, { state: f.state })).toBe(1)
    expect(figure('queue_waiting', id)).toBe(f.waiting)
    expect(figure('queue_ready', id)).toBe(f.ready)
    expect(figure('queue_admitted_last_minute', id)).toBe(f.admittedLastMinute)
    expect(figure('queue_tokens', id, { outcome: 'joined' })).toBe(f.joinedTotal)
    expect(figure('queue_tokens', id, { outcome: 'completed' })).toBe(f.completedTotal)
    expect(figure('queue_tokens', id, { outcome: 'abandoned' })).toBe(f.abandonedTotal)
    expect(figure('queue_tokens', id, { outcome: 'timed_out' })).toBe(f.timedOutTotal)
    expect(figure('queue_tokens', id, { outcome: 'left' })).toBe(f.leftTotal)
    expect(figure('queue_configured_admit_per_second', id)).toBe(f.settings.admitPerSecond)
    expect(figure('queue_configured_max_active', id)).toBe(f.settings.maxActive)
    expect(figure('queue_configured_active_ttl_seconds', id)).toBe(f.settings.activeTtlSeconds)
    expect(figure('queue_configured_waiting_idle_seconds', id)).toBe(f.settings.waitingIdleSeconds)
    expect(figure('queue_configured_paused', id)).toBe(f.settings.paused ? 1 : 0)
    const seats = (name: string) => sampleValue(bookingMetrics.get(name), { event: String(id) })
    expect(seats('booking_seats_total')).toBe(f.seatsTotal)
    expect(seats('booking_seats_sold')).toBe(f.seatsSold)
    expect(seats('booking_seats_left')).toBe(f.seatsLeft)
  })
})

describe.each([
  ['gateway', () => gatewayMetrics],
  ['booking', () => bookingMetrics],
])('%s /metrics, what both apps share', (_name, metrics) => {
  it('shows the MySQL pool by state and its size', () => {
    const pool = metrics().get('db_pool_connections')
    for (const state of ['in_use', 'free', 'waiting'])
      expect(sampleValue(pool, { state })).toBeGreaterThanOrEqual(0)
    expect(sampleValue(pool, { state: 'waiting' })).toBe(0)
    expect(sampleValue(metrics().get('db_pool_size'))).toBe(2)
  })

  it('times Redis commands by command', () => {
    const redis = metrics().get('redis_command_duration_seconds')
    expect(redis?.type).toBe('histogram')
    const counts = redis?.samples.filter((sample) => sample.name === 'redis_command_duration_seconds_count')
    expect(counts?.some((sample) => sample.value > 0 && sample.labels.command)).toBe(true)
  })

  it('shows the process’s runtime (the dashboard’s event-loop lag by app), once', () => {
    for (const [scraped, app] of [
      [gatewayMetrics, 'queue-gateway'],
      [bookingMetrics, 'booking-api'],
    ] as const) {
      const lag = scraped.get('nodejs_eventloop_lag_p99_seconds')
      expect(lag?.samples.map((sample) => sample.labels)).toEqual([{ app }])
      expect(sampleValue(scraped.get('process_resident_memory_bytes'))).toBeGreaterThan(0)
    }
  })

  it('says which build runs, and counts shed requests', () => {
    const info = metrics().get('app_build_info')
    expect(info?.samples[0]?.labels).toMatchObject({ revision: 'metrics-test', node: process.version })
    expect(sampleValue(info)).toBe(1)
    expect(sampleValue(metrics().get('http_requests_shed_total'))).toBe(0)
  })
})

describe('booking /metrics', () => {
  it('shows the seats of the shows still on sale per event, judged in the venue’s zone', () => {
    const seats = (name: string, event: number) =>
      sampleValue(bookingMetrics.get(name), { event: String(event) })
    // Three demo shows of 50 seats ahead, none sold.
    expect(seats('booking_seats_total', eventId)).toBe(150)
    expect(seats('booking_seats_sold', eventId)).toBe(0)
    expect(seats('booking_seats_left', eventId)).toBe(150)
    // In UTC+14 both shows are dated today or later by the UTC calendar; only the one not yet
    // started there counts, with the seat sold of it.
    expect(seats('booking_seats_total', zoneEventId)).toBe(ZONE_SEATS)
    expect(seats('booking_seats_sold', zoneEventId)).toBe(1)
    expect(seats('booking_seats_left', zoneEventId)).toBe(ZONE_SEATS - 1)
    const live = [eventId, pausedEventId, zoneEventId].sort((a, b) => a - b)
    for (const name of ['booking_seats_total', 'booking_seats_sold', 'booking_seats_left'])
      expect(eventsOf(bookingMetrics.get(name)), name).toEqual(live)
  })

  it('leaves /docs out of the latency histogram and measures the API', () => {
    const routes = (bookingMetrics.get('http_request_duration_seconds')?.samples ?? []).map(
      (sample) => sample.labels.route,
    )
    expect(routes).toContain('/v1/events')
    expect(routes.filter((route) => route?.startsWith('/docs'))).toEqual([])
  })
})

describe('the alert rules and the dashboard in docker/', () => {
  /** Our metric names in a PromQL text (histogram series names map to their metric). */
  function metricNames(text: string): string[] {
    const names = text.match(/\b(?:queue|http|db|redis|booking|app|nodejs)_[a-z0-9_]+/g) ?? []
    return [...new Set(names.map((name) => name.replace(/_(bucket|count|sum)$/, '')))]
  }

  it.each([['docker/prometheus/alerts.yml'], ['docker/grafana/dashboards/concert.json']])(
    '%s uses only metrics that exist',
    (file) => {
      const known = new Set([...gatewayMetrics.keys(), ...bookingMetrics.keys()])
      const used = metricNames(readFileSync(`${repoRoot}${file}`, 'utf8'))
      expect(used.length).toBeGreaterThan(5)
      expect(used.filter((name) => !known.has(name))).toEqual([])
    },
  )
})

describe('the exposition parser these tests use', () => {
  it('refuses what Prometheus would refuse, duplicate series included', () => {
    expect(() => parseMetrics('# TYPE a gauge\na{b=1} 2\n')).toThrow(/bad labels/)
    expect(() => parseMetrics('# TYPE a gauge\na 2 x\n')).toThrow(/not a sample/)
    expect(() => parseMetrics('b 2\n')).toThrow(/undeclared/)
    expect(() => parseMetrics('# TYPE a gauge\na one\n')).toThrow(/bad value/)
    // One series twice (label order does not matter), a family declared twice or typed late.
    expect(() => parseMetrics('# TYPE a gauge\na{x="1",y="2"} 1\na{y="2",x="1"} 2\n')).toThrow(
      /duplicate series a\{x="1",y="2"\}/,
    )
    expect(() => parseMetrics('# TYPE h histogram\nh_count 1\nh_count 1\n')).toThrow(
      /duplicate series h_count\{\}/,
    )
    expect(() => parseMetrics('# TYPE a gauge\n# TYPE a counter\na 1\n')).toThrow(/second TYPE/)
    expect(() => parseMetrics('# HELP a one\n# HELP a two\n# TYPE a gauge\na 1\n')).toThrow(/second HELP/)
    expect(() => parseMetrics('# HELP a x\na 1\n# TYPE a gauge\n')).toThrow(/TYPE after the samples/)
    // Same labels on different series names of one histogram are different series.
    expect(
      parseMetrics('# TYPE h histogram\nh_sum{l="x"} 1\nh_count{l="x"} 1\n').get('h')?.samples,
    ).toHaveLength(2)
    expect(
      parseMetrics('# TYPE h histogram\nh_bucket{l="x",le="+Inf"} 2\nh_count{l="x"} 2\n').get('h')?.samples,
    ).toHaveLength(2)
  })
})
