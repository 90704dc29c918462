import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { readLiveAccounts, readTokenState } from '@concert/queue/testing'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep } from './helpers.js'

// A private redis-server: this file FLUSHALLs it in the middle of join bursts.
const env = useTestEnv({ privateRedis: true })
const ROUNDS = 5
const FANS = 2000
let gateways: App[]
let accounts: string[]
let events: number[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, FANS, { prefix: 'fan' })
  events = []
  for (let round = 0; round < ROUNDS; round += 1)
    events.push(await createEvent(env.db, `redis loss ${round}`))
  // Two copies with their mirror loops running; admission ticks only at start (interval 10 s),
  // so every acknowledged fan is still WAITING and places are directly comparable.
  const overrides = { QUEUE_ADMIT_INTERVAL_MS: '10000' }
  gateways = [
    await buildGateway(env, overrides, { workers: true, poolSize: 4 }),
    await buildGateway(env, overrides, { workers: true, poolSize: 4 }),
  ]
})
afterAll(async () => {
  for (const app of gateways ?? []) await app.close()
})

interface Acknowledged {
  accountId: string
  token: string
}

/** Every account joins at once, alternating between the two copies; the acknowledged tickets (201/200). */
async function burst(eventId: number, during?: () => Promise<void>): Promise<Acknowledged[]> {
  const joins = Promise.all(
    accounts.map((accountId, i) =>
      join(gateways[i % 2] as App, accountId, eventId).then((r) => ({ accountId, r })),
    ),
  )
  await during?.()
  const answers = await joins
  for (const { r } of answers) {
    // A join either succeeds or is refused with a retryable 503 (its ticket was read before the loss).
    expect([200, 201, 503]).toContain(r.statusCode)
    if (r.statusCode === 503) {
      expect(r.headers['content-type']).toContain('application/problem+json')
      expect(r.headers['retry-after']).toBeDefined()
    }
  }
  return answers
    .filter(({ r }) => r.statusCode === 200 || r.statusCode === 201)
    .map(({ accountId, r }) => ({ accountId, token: r.json().token as string }))
}

async function drainMirrors(eventId: number): Promise<void> {
  for (let i = 0; i < 3; i += 1) for (const app of gateways) await app.mirrorWorker.drain(eventId)
}

/** Redis and QUEUE_TOKEN agree: no ghost rows, unique places, one live token per account in both. */
async function expectStoresAgree(eventId: number): Promise<void> {
  const k = eventKeys(env.keyPrefix, eventId)
  const waitingInRedis = await env.redis.zrange(k.waiting, 0, -1)
  const rows = await env.db
    .selectFrom('QUEUE_TOKEN')
    .select(['token', 'account_id', 'position', 'status'])
    .where('event_id', '=', eventId)
    .execute()
  const waitingRows = rows.filter((row) => row.status === 'WAITING')
  expect(new Set(waitingRows.map((row) => row.token))).toEqual(new Set(waitingInRedis))
  expect(rows.filter((row) => row.status === 'READY')).toHaveLength(await env.redis.zcard(k.active))
  expect(new Set(rows.map((row) => row.position)).size).toBe(rows.length)
  const places = await Promise.all(
    waitingInRedis.map(async (token) => (await readTokenState(env.redis, k, token))?.place),
  )
  expect(new Set(places).size).toBe(places.length)
  const live = rows.filter((row) => row.status !== 'EXPIRED')
  expect(new Set(live.map((row) => row.account_id)).size).toBe(live.length)
  expect((await readLiveAccounts(env.redis, k)).size).toBe(live.length)
  const doubles = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT account_id FROM QUEUE_TOKEN WHERE event_id = ${eventId} AND status IN ('WAITING', 'READY')
      GROUP BY account_id HAVING COUNT(*) > 1) d`.execute(env.db)
  expect(Number(doubles.rows[0]?.n)).toBe(0)
}

/**
 * Every acknowledged fan still holds its ticket at the place it was given (its
 * QUEUE_TOKEN row committed before the answer), and the fans keep their relative order.
 */
async function expectAcknowledgedSurvive(eventId: number, acknowledged: Acknowledged[]): Promise<void> {
  const polls = await Promise.all(
    acknowledged.map((fan, i) =>
      (gateways[i % 2] as App).inject({ method: 'GET', url: `/v1/queue/tokens/${fan.token}` }),
    ),
  )
  expect(polls.map((p) => p.statusCode)).toEqual(acknowledged.map(() => 200))
  const after = polls.map((p) => p.json())
  after.forEach((ticket, i) => {
    expect(ticket).toMatchObject({ token: acknowledged[i]?.token, accountId: acknowledged[i]?.accountId })
    // Still waiting, or admitted by the copies' admission tick (every 10 s here).
    expect(['WAITING', 'READY']).toContain(ticket.status)
  })
  const k = eventKeys(env.keyPrefix, eventId)
  const placesInRedis = await Promise.all(
    acknowledged.map(async (fan) => (await readTokenState(env.redis, k, fan.token))?.place),
  )
  const rows = await env.db
    .selectFrom('QUEUE_TOKEN')
    .select(['token', 'position'])
    .where('event_id', '=', eventId)
    .execute()
  const placeInMysql = new Map(rows.map((row) => [row.token, row.position]))
  const ranked = acknowledged.map((fan, i) => {
    expect(Number(placesInRedis[i])).toBe(placeInMysql.get(fan.token))
    return { place: Number(placesInRedis[i]), position: after[i].position as number }
  })
  // In place order: the admitted (position 0) first, then the waiters at strictly rising positions.
  ranked.sort((a, b) => a.place - b.place)
  for (let i = 1; i < ranked.length; i += 1) {
    const [previous, current] = [ranked[i - 1]?.position as number, ranked[i]?.position as number]
    if (previous === 0) expect(current).toBeGreaterThanOrEqual(0)
    else expect(current).toBeGreaterThan(previous)
  }
}

describe('Redis loses its data in the middle of a join burst', () => {
  it(`FLUSHALL at a random moment during ${FANS} concurrent joins on two copies, ${ROUNDS} times: nothing acknowledged is lost`, async () => {
    for (const eventId of events) {
      const delay = 30 + Math.floor(Math.random() * 600)
      const acknowledged = await burst(eventId, async () => {
        await sleep(delay)
        await env.localRedis?.flushAll()
      })
      await drainMirrors(eventId)
      await expectAcknowledgedSurvive(eventId, acknowledged)
      await drainMirrors(eventId)
      await expectStoresAgree(eventId)

      // A second loss, then everyone joins again: still one live token per account, nobody loses a place.
      await env.localRedis?.flushAll()
      const rejoined = await burst(eventId)
      expect(rejoined).toHaveLength(FANS)
      const byAccount = new Map(rejoined.map((fan) => [fan.accountId, fan.token]))
      for (const fan of acknowledged) expect(byAccount.get(fan.accountId)).toBe(fan.token)
      await drainMirrors(eventId)
      await expectStoresAgree(eventId)
      await expectAcknowledgedSurvive(eventId, rejoined)
    }
  })
})
