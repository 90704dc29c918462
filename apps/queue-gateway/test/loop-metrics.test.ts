import type { App } from '@concert/http'
import {
  ask,
  insertAccounts,
  type ParsedMetric,
  parseMetrics,
  sampleValue,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

/*
 * The counters an operator alerts on must move when the thing they count happens,
 * not only exist at 0: a FLUSHALL of Redis is counted as a queue rebuilt from MySQL,
 * and a Redis that stops answering as failed loop ticks. Both on this file's own
 * redis-server (privateRedis), which it wipes and shuts down.
 */

const env = useTestEnv({ privateRedis: true })
let gateway: App
let eventId: number
const tokens: string[] = []

async function scrape(): Promise<Map<string, ParsedMetric>> {
  const response = await gateway.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  return parseMetrics(response.body)
}

const rebuilt = async () =>
  sampleValue((await scrape()).get('queue_recoveries_total'), { outcome: 'rebuilt' }) ?? -1
const tickFailures = async (loop: string) =>
  sampleValue((await scrape()).get('queue_loop_tick_failures_total'), { loop }) ?? -1

/** What a fan's poll says: the ticket must survive a Redis loss unchanged. */
async function poll(token: string) {
  const response = await gateway.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
  return { status: response.statusCode, body: response.json() }
}

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, 2, { prefix: 'lm' })
  // READY cap 1: lm-1 is admitted, lm-2 keeps waiting at position 1.
  gateway = await buildGateway(
    env,
    { QUEUE_MAX_ACTIVE: '1', QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_EVENTS_REFRESH_MS: '200' },
    { workers: true },
  )
  for (const accountId of ['lm-1', 'lm-2']) {
    const joined = await join(gateway, accountId, eventId)
    expect(joined.statusCode).toBe(201)
    tokens.push(joined.json().token)
  }
  // Recovery restores what QUEUE_TOKEN holds: wait until the mirror wrote both, lm-1 READY.
  await waitFor(async () => {
    const rows = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['account_id', 'status'])
      .where('event_id', '=', eventId)
      .orderBy('account_id')
      .execute()
    return (
      JSON.stringify(rows) ===
      JSON.stringify([
        { account_id: 'lm-1', status: 'READY' },
        { account_id: 'lm-2', status: 'WAITING' },
      ])
    )
  }, 'both tokens in QUEUE_TOKEN, lm-1 READY')
})

afterAll(async () => {
  await gateway?.close()
})

describe('queue_recoveries_total{outcome="rebuilt"}', () => {
  it('is 0 while Redis holds the queue, and 1 once the queue is rebuilt after a FLUSHALL', async () => {
    expect(await rebuilt()).toBe(0)
    const before = await Promise.all(tokens.map(poll))
    expect(before.map((ticket) => ticket.body.status)).toEqual(['READY', 'WAITING'])

    await env.localRedis?.flushAll()
    await waitFor(async () => (await rebuilt()) >= 1, 'the queue rebuilt after FLUSHALL')

    expect(await rebuilt()).toBe(1)
    // The rebuild restored the same tickets: same token, account, status and place.
    expect(await Promise.all(tokens.map(poll))).toEqual(before)
  })
})

describe('queue_loop_tick_failures_total', () => {
  it('counts the admission and mirror ticks that fail while Redis is unreachable', async () => {
    const port = env.localRedis?.port
    if (port === undefined) throw new Error('no private Redis')
    const admissionBefore = await tickFailures('admission')
    const mirrorBefore = await tickFailures('mirror')
    expect(admissionBefore).toBeGreaterThanOrEqual(0)
    expect(mirrorBefore).toBeGreaterThanOrEqual(0)

    // The server goes away (no reply to SHUTDOWN: the connection just closes). The test's
    // own client reconnects later; its errors meanwhile are expected.
    env.redis.on('error', () => {})
    await ask(port, 'SHUTDOWN', 'NOSAVE').catch(() => undefined)
    await waitFor(
      async () =>
        (await tickFailures('admission')) > admissionBefore && (await tickFailures('mirror')) > mirrorBefore,
      'failed admission and mirror ticks counted',
    )
    // /metrics still answers (scrape() checks the 200) with what Redis cannot give left out,
    // while fans are told to retry.
    const during = await scrape()
    expect(during.get('queue_oldest_waiter_age_seconds')?.samples).toEqual([])
    expect(during.get('queue_mirror_lag_seconds')?.samples).toEqual([])
    expect(sampleValue(during.get('queue_recoveries_total'), { outcome: 'rebuilt' })).toBe(1)
    expect((await poll(tokens[0] ?? '')).status).toBe(503)

    // Back, empty (as after a restart without persistence): the queue is rebuilt again.
    await env.localRedis?.restart()
    await waitFor(async () => (await rebuilt()) >= 2, 'the queue rebuilt after the restart', 30_000)
    expect((await poll(tokens[1] ?? '')).body).toMatchObject({ status: 'WAITING', position: 1 })
  })
})
