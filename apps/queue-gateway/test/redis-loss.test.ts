import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { readLiveAccounts, readTokenState } from '@concert/queue/testing'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'
import { mirrorDifferences, redisTokens, tokenRows } from './queue-state.js'

// A private redis-server: this file FLUSHALLs it in the middle of join bursts.
const env = useTestEnv({ privateRedis: true })
const ROUNDS = 5
const FANS = 2000
/** Fans of a burst who arrive only once Redis has lost its data. */
const LATE_FANS = 100
let gateways: App[]
let accounts: string[]
let events: number[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, FANS, { prefix: 'fan' })
  events = []
  for (let round = 0; round < ROUNDS; round += 1)
    events.push(await createEvent(env.db, `redis loss ${round}`))
  // Two copies with their mirror loops running; admission ticks every 10 s (the
  // longest interval allowed), so nearly every acknowledged fan is still WAITING.
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
  /** Its QUEUE_TOKEN place, read as the 201/200 arrived. */
  placeAtAck: number
}

/**
 * Reads the QUEUE_TOKEN place of each token as its acknowledgement arrives
 * (the tokens acknowledged in one event-loop turn in one query); undefined if
 * the row is not there, which would break "acknowledged = durable".
 */
function placeReader(): (token: string) => Promise<number | undefined> {
  type Waiter = { token: string; resolve: (place: number | undefined) => void; reject: (e: unknown) => void }
  let pending: Waiter[] = []
  return (token) =>
    new Promise((resolve, reject) => {
      pending.push({ token, resolve, reject })
      if (pending.length > 1) return
      setImmediate(async () => {
        const batch = pending
        pending = []
        try {
          const rows = await env.db
            .selectFrom('QUEUE_TOKEN')
            .select(['token', 'position'])
            .where(
              'token',
              'in',
              batch.map((b) => b.token),
            )
            .execute()
          const places = new Map(rows.map((row) => [row.token, row.position]))
          for (const b of batch) b.resolve(places.get(b.token))
        } catch (error) {
          for (const b of batch) b.reject(error)
        }
      })
    })
}

interface Burst {
  acknowledged: Acknowledged[]
  /** Acknowledgements that arrived before the FLUSHALL was sent, and after it had run. */
  acksBeforeFlush: number
  acksAfterFlush: number
  /** Of those after it: fans of the first wave, whose joins were under way when Redis lost its data. */
  firstWaveAcksAfterFlush: number
  /** Acknowledged tokens that Redis issued (its clock) after the FLUSHALL: joins of the rebuilt queue. */
  issuedAfterFlush: number
  refused: number
  /** Most joins under way at once. */
  peakInFlight: number
}

/**
 * FLUSHALL on this file's private redis-server, over the test's open connection
 * (not a new one), so it reaches Redis the moment it is sent.
 */
async function flushAll(): Promise<void> {
  if (!env.localRedis) throw new Error('this file needs its private Redis')
  await env.redis.flushall()
}

/**
 * Every account joins, alternating between the two copies, all at once. With
 * `flushAfterAcks`, Redis loses everything the moment that many joins have been
 * acknowledged, while the rest are under way; the last LATE_FANS accounts arrive
 * only then (the queue they join is rebuilt under them), so joins reach Redis on
 * both sides of the loss whatever `flushAfterAcks` is.
 */
async function burst(eventId: number, flushAfterAcks?: number): Promise<Burst> {
  const placeAt = placeReader()
  let acks = 0
  let acksBeforeFlush = 0
  let acksAfterFlush = 0
  let firstWaveAcksAfterFlush = 0
  let flushSentAt: number | undefined
  let flushDone = false
  let flushError: unknown
  let lossHappened: () => void = () => {}
  const afterLoss = new Promise<void>((resolve) => {
    lossHappened = resolve
  })
  const firstWave = flushAfterAcks === undefined ? FANS : FANS - LATE_FANS
  let firstWaveAnswered = 0
  let inFlight = 0
  let peakInFlight = 0
  const loseRedis = () => {
    flushSentAt = Date.now()
    void flushAll()
      .catch((error) => {
        flushError = error
      })
      .then(() => {
        flushDone = true
      })
    // The late fans set off as the FLUSHALL goes out (it is already written to Redis's
    // socket when their joins start), so the rebuild they cause starts while the first
    // wave's durable writes and mirror batches of the lost epoch may still be under way.
    lossHappened()
  }
  const answers = await Promise.all(
    accounts.map(async (accountId, i) => {
      if (i >= firstWave) await afterLoss
      inFlight += 1
      peakInFlight = Math.max(peakInFlight, inFlight)
      const r = await join(gateways[i % 2] as App, accountId, eventId)
      inFlight -= 1
      if (i < firstWave) firstWaveAnswered += 1
      const acked = r.statusCode === 200 || r.statusCode === 201
      if (acked) {
        acks += 1
        if (flushSentAt === undefined) acksBeforeFlush += 1
        else if (flushDone) {
          acksAfterFlush += 1
          if (i < firstWave) firstWaveAcksAfterFlush += 1
        }
      }
      // Also once the whole first wave has its answer (some refused), so the late
      // fans never wait for acknowledgements that cannot come; the test then fails
      // on acksBeforeFlush, not on its timeout.
      if (
        flushAfterAcks !== undefined &&
        flushSentAt === undefined &&
        (acks >= flushAfterAcks || firstWaveAnswered === firstWave)
      )
        loseRedis()
      if (!acked) return { accountId, r, token: undefined, placeAtAck: undefined }
      const token = r.json().token as string
      return { accountId, r, token, placeAtAck: await placeAt(token) }
    }),
  )
  if (flushError) throw flushError
  for (const { r } of answers) {
    // A join either succeeds or is refused with a retryable 503 (its ticket was read before the loss).
    expect([200, 201, 503]).toContain(r.statusCode)
    if (r.statusCode === 503) {
      expect(r.headers['content-type']).toContain('application/problem+json')
      expect(r.headers['retry-after']).toBeDefined()
    }
  }
  const acknowledged = answers.filter((a) => a.token !== undefined)
  // Acknowledged = durable: each acknowledged ticket's row was there when its answer arrived.
  expect(acknowledged.filter((a) => a.placeAtAck === undefined).map((a) => a.token)).toEqual([])
  const issuedAt = (a: (typeof acknowledged)[number]) => Date.parse(a.r.json().issuedAt)
  return {
    acknowledged: acknowledged.map((a) => ({
      accountId: a.accountId,
      token: a.token as string,
      placeAtAck: a.placeAtAck as number,
    })),
    acksBeforeFlush,
    acksAfterFlush,
    firstWaveAcksAfterFlush,
    issuedAfterFlush:
      flushSentAt === undefined
        ? 0
        : acknowledged.filter((a) => issuedAt(a) >= (flushSentAt as number)).length,
    refused: answers.length - acknowledged.length,
    peakInFlight,
  }
}

async function epochOf(eventId: number): Promise<number> {
  const row = await env.db
    .selectFrom('QUEUE_EPOCH')
    .select('epoch')
    .where('event_id', '=', eventId)
    .executeTakeFirst()
  return row?.epoch ?? 0
}

async function drainMirrors(eventId: number): Promise<void> {
  for (let i = 0; i < 3; i += 1) for (const app of gateways) await app.mirrorWorker.drain(eventId)
}

const sorted = (values: Iterable<string>) => [...values].sort()

/** Both stores' view of the event, read once the mirrors have drained. */
async function snapshot(eventId: number) {
  const k = eventKeys(env.keyPrefix, eventId)
  await drainMirrors(eventId)
  return {
    rows: await tokenRows(env.db, eventId),
    tokens: await redisTokens(env.redis, env.keyPrefix, eventId),
    waiting: await env.redis.zrange(k.waiting, 0, -1),
    ready: await env.redis.zrange(k.active, 0, -1),
    liveAccounts: await readLiveAccounts(env.redis, k),
  }
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>

/** Where a snapshot's two stores disagree on which tokens wait, are READY or are live, or on any token's fields. */
function disagreements(s: Snapshot): string[] {
  const withStatus = (status: string) =>
    sorted(s.rows.filter((row) => row.status === status).map((row) => row.token))
  const live = s.rows.filter((row) => row.status !== 'EXPIRED')
  const liveInMysql = new Map(live.map((row) => [row.account_id, row.token]))
  const found = mirrorDifferences(s.tokens, s.rows)
  if (JSON.stringify(withStatus('WAITING')) !== JSON.stringify(sorted(s.waiting))) found.push('WAITING sets')
  if (JSON.stringify(withStatus('READY')) !== JSON.stringify(sorted(s.ready))) found.push('READY sets')
  if (
    liveInMysql.size !== s.liveAccounts.size ||
    [...liveInMysql].some(([account, token]) => s.liveAccounts.get(account) !== token)
  )
    found.push('live token per account')
  return found
}

/**
 * Redis and QUEUE_TOKEN agree exactly: the same WAITING tokens (no ghost rows),
 * the same READY tokens, every token's mirrored fields equal, unique places, and
 * the same one live token per account in both.
 */
async function expectStoresAgree(eventId: number): Promise<void> {
  // The copies' admission tick may admit fans between two reads of a snapshot; its
  // changes are mirrored by the next drain, so a later snapshot agrees. What a
  // fault left behind (a ghost row, a second live token) stays in every snapshot.
  let s = await snapshot(eventId)
  for (let attempt = 1; attempt < 3 && disagreements(s).length > 0; attempt += 1) s = await snapshot(eventId)
  const withStatus = (status: string) =>
    sorted(s.rows.filter((row) => row.status === status).map((row) => row.token))
  expect(withStatus('WAITING')).toEqual(sorted(s.waiting))
  expect(withStatus('READY')).toEqual(sorted(s.ready))
  expect(mirrorDifferences(s.tokens, s.rows)).toEqual([])
  expect(new Set(s.rows.map((row) => row.position)).size).toBe(s.rows.length)
  expect(new Set(s.tokens.map((t) => t.place)).size).toBe(s.tokens.length)
  const live = s.rows.filter((row) => row.status !== 'EXPIRED')
  expect(new Set(live.map((row) => row.account_id)).size).toBe(live.length)
  expect(s.liveAccounts).toEqual(new Map(live.map((row) => [row.account_id, row.token])))
  const doubles = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT account_id FROM QUEUE_TOKEN WHERE event_id = ${eventId} AND status IN ('WAITING', 'READY')
      GROUP BY account_id HAVING COUNT(*) > 1) d`.execute(env.db)
  expect(Number(doubles.rows[0]?.n)).toBe(0)
}

/**
 * Every acknowledged fan still holds its ticket, at the place it had when the
 * answer arrived (in Redis and in QUEUE_TOKEN), and the fans keep the relative
 * order of those places: taken in order of their places at acknowledgement,
 * the admitted ones (position 0) come first, then the waiters at strictly
 * rising positions.
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
  const placeInMysql = new Map((await tokenRows(env.db, eventId)).map((row) => [row.token, row.position]))
  expect(placesInRedis).toEqual(acknowledged.map((fan) => fan.placeAtAck))
  expect(acknowledged.map((fan) => placeInMysql.get(fan.token))).toEqual(
    acknowledged.map((fan) => fan.placeAtAck),
  )
  const byPlaceAtAck = acknowledged
    .map((fan, i) => ({ placeAtAck: fan.placeAtAck, position: after[i].position as number }))
    .sort((a, b) => a.placeAtAck - b.placeAtAck)
  for (let i = 1; i < byPlaceAtAck.length; i += 1) {
    const [previous, current] = [byPlaceAtAck[i - 1]?.position as number, byPlaceAtAck[i]?.position as number]
    if (previous === 0) expect(current).toBeGreaterThanOrEqual(0)
    else expect(current).toBeGreaterThan(previous)
  }
}

describe('Redis loses its data in the middle of a join burst', () => {
  it(`FLUSHALL at a random moment during ${FANS} concurrent joins on two copies, ${ROUNDS} times: nothing acknowledged is lost`, async () => {
    const rounds: string[] = []
    for (const eventId of events) {
      // The loss comes once a random 10–90 % of the fans have their answer.
      const flushAfterAcks = Math.round(FANS * (0.1 + Math.random() * 0.8))
      // The previous rounds' FLUSHALLs took this event's queue too: rebuild it first, so
      // the burst starts on a present queue and the loss below is the only rebuild.
      await (gateways[0] as App).queue.recovery.ensure(eventId)
      const epochBefore = await epochOf(eventId)
      const first = await burst(eventId, flushAfterAcks)
      // It landed mid-burst: answers came before and after it, tickets were issued
      // after it, and the queue was rebuilt once (two copies, one rebuild).
      expect(first.acksBeforeFlush).toBeGreaterThanOrEqual(flushAfterAcks)
      expect(first.acksAfterFlush).toBeGreaterThan(0)
      expect(first.issuedAfterFlush).toBeGreaterThan(0)
      expect(await epochOf(eventId)).toBe(epochBefore + 1)
      await drainMirrors(eventId)
      await expectAcknowledgedSurvive(eventId, first.acknowledged)
      await expectStoresAgree(eventId)

      // A second loss, then everyone joins again: still one live token per account, nobody loses a place.
      await flushAll()
      const again = await burst(eventId)
      expect(await epochOf(eventId)).toBe(epochBefore + 2)
      expect(again.acknowledged).toHaveLength(FANS)
      const byAccount = new Map(again.acknowledged.map((fan) => [fan.accountId, fan]))
      for (const fan of first.acknowledged) {
        expect(byAccount.get(fan.accountId)).toEqual(fan)
      }
      await expectStoresAgree(eventId)
      await expectAcknowledgedSurvive(eventId, again.acknowledged)
      rounds.push(
        `FLUSHALL after ${flushAfterAcks} acks: ${first.acksBeforeFlush} acks before it, ${first.acksAfterFlush} after ` +
          `(${first.firstWaveAcksAfterFlush} of joins under way at the loss; ${first.issuedAfterFlush} issued after it), ` +
          `${first.refused} refused with 503; at most ${first.peakInFlight} joins under way at once`,
      )
    }
    console.info(`redis-loss:\n  ${rounds.join('\n  ')}`)
  }, 120_000)
})
