import { readFileSync } from 'node:fs'
import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import {
  appEnv,
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
import { buildBooking } from './helpers.js'

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
let streamAbort: AbortController
let gatewayMetrics: Map<string, ParsedMetric>
let bookingMetrics: Map<string, ParsedMetric>

const RATE_LIMIT = 6

async function scrape(app: App): Promise<Map<string, ParsedMetric>> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toContain('text/plain')
  return parseMetrics(response.body)
}

const join = (accountId: string) =>
  gateway.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId, eventId } })

beforeAll(async () => {
  const catalog = await seedCatalog(env.db)
  eventId = catalog.eventId
  await insertAccounts(env.db, 2, { prefix: 'm' })
  const config = loadGatewayConfig(
    appEnv(env, {
      DB_POOL_SIZE: '2',
      QUEUE_MAX_ACTIVE: '1',
      QUEUE_ADMIT_PER_SECOND: '7',
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
  booking = await buildBooking(env, { BUILD_REVISION: 'metrics-test' }, { poolSize: 2 })

  // m-1 is admitted (the READY cap is 1), m-2 waits behind it and follows its ticket over SSE.
  expect((await join('m-1')).statusCode).toBe(201)
  const waiting = await join('m-2')
  expect(waiting.statusCode).toBe(201)
  // Rejoins up to the per-IP limit, then one more: 429.
  const statuses: number[] = []
  for (let sent = 2; sent <= RATE_LIMIT; sent += 1) statuses.push((await join('m-1')).statusCode)
  expect(statuses).toEqual([200, 200, 200, 200, 429])
  streamAbort = new AbortController()
  const stream = await fetch(`${gatewayUrl}/v1/queue/tokens/${waiting.json().token}/stream`, {
    signal: streamAbort.signal,
  })
  expect(stream.status).toBe(200)
  await waitFor(
    async () =>
      (sampleValue((await scrape(gateway)).get('queue_admitted_total'), { event: String(eventId) }) ?? 0) >=
      1,
    'm-1 admitted',
  )
  // The API docs and a catalogue read on booking-api: one must be measured, the other not.
  expect((await booking.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200)
  expect((await booking.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode).toBe(200)
  expect((await booking.inject({ method: 'GET', url: '/v1/events' })).statusCode).toBe(200)

  gatewayMetrics = await scrape(gateway)
  bookingMetrics = await scrape(booking)
})

afterAll(async () => {
  streamAbort?.abort()
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

  it('counts queue set-ups (recoveries) and shows the oldest waiter, the configured rate and cap', () => {
    expect(
      sampleValue(gatewayMetrics.get('queue_recoveries_total'), { outcome: 'initialised' }),
    ).toBeGreaterThan(0)
    expect(sampleValue(gatewayMetrics.get('queue_recoveries_total'), { outcome: 'rebuilt' })).toBe(0)
    expect(
      sampleValue(gatewayMetrics.get('queue_oldest_waiter_age_seconds'), { event: String(eventId) }),
    ).toBeGreaterThan(0)
    expect(sampleValue(gatewayMetrics.get('queue_configured_admit_per_second'))).toBe(7)
    expect(sampleValue(gatewayMetrics.get('queue_configured_max_active'))).toBe(1)
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

  it('says which build runs, and counts shed requests', () => {
    const info = metrics().get('app_build_info')
    expect(info?.samples[0]?.labels).toMatchObject({ revision: 'metrics-test', node: process.version })
    expect(sampleValue(info)).toBe(1)
    expect(sampleValue(metrics().get('http_requests_shed_total'))).toBe(0)
  })
})

describe('booking /metrics', () => {
  it('shows the seats left per event (the default source: unsold seats of shows from today on)', async () => {
    const today = new Date().toISOString().slice(0, 10)
    const shows = await env.db
      .selectFrom('EVENT_SCHEDULE')
      .select(['event_id', (eb) => eb.fn.countAll<number>().as('shows')])
      .where('date', '>=', today)
      .groupBy('event_id')
      .execute()
    const seatsLeft = bookingMetrics.get('booking_seats_left')
    for (const { event_id, shows: count } of shows) {
      expect(sampleValue(seatsLeft, { event: String(event_id) })).toBe(Number(count) * 50)
    }
    expect(shows.length).toBeGreaterThan(0)
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
