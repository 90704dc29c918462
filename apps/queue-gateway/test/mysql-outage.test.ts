import type { App } from '@concert/http'
import { eventKeys, type Ticket } from '@concert/queue'
import {
  createEvent,
  holdEpochRow,
  insertAccounts,
  lockWaiters,
  seedCatalog,
  startMysqlProxy,
  type TcpProxy,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep } from './helpers.js'
import { accountsWithTwoLiveTokens, redisTokens, tokenRows } from './queue-state.js'

/*
 * MySQL goes away for 10 s while fans keep joining through two gateway copies
 * (workers on), then comes back, and at once, before the mirror has caught up,
 * Redis loses everything (FLUSHALL); once everything has settled it loses
 * everything again. The promise under test: a join answered 201/200 is durable,
 * so not one acknowledged ticket is lost at either loss; while MySQL is away
 * clients get 503 with Retry-After, never a 500; and the unmirrored backlog a
 * loss could undo stays within its bound. The gateways reach MySQL through a
 * TCP proxy that the test cuts and restores; the test's own checks go to MySQL
 * and Redis directly.
 */

// FLUSHALL needs a Redis of our own.
const env = useTestEnv({ privateRedis: true })

const FANS = 2_550
/** New fans per second, from the first second to the last of the run. */
const ARRIVALS_PER_SECOND = 150
const BEFORE_MS = 3_000
const CUT_MS = 10_000
const AFTER_MS = 4_000
/** Requests in flight at once, across both copies. */
const CONCURRENCY = 48
const MAX_ACTIVE = 100
/** Low enough that fans joining during the cut fill it: joins then answer 503 "busy recording". */
const MAX_BACKLOG = 400
/**
 * How far past MAX_BACKLOG the stream may grow. A join checks the bound in the same
 * script that appends its entry, so joins never pass it; an admission tick checks it
 * once and may then admit up to the free READY slots (at most MAX_ACTIVE). Nothing
 * else writes the stream here: no token expires or leaves during the run.
 */
const BACKLOG_SLACK = MAX_ACTIVE

let proxy: TcpProxy
let apps: App[]
let eventId: number
let accounts: string[]

type Phase = 'before' | 'cut' | 'after'

interface Answer {
  accountId: string
  phase: Phase
  status: number
  contentType: string | undefined
  retryAfter: string | undefined
  body: Record<string, unknown> | undefined
}

interface Fan {
  accountId: string
  answers: Answer[]
  /** The acknowledged ticket (201/200), if the fan got one. */
  ticket?: Ticket
  ackStatus?: number
  /** Its QUEUE_TOKEN place, read as the acknowledgement arrived. */
  placeAtAck?: number
}

function jsonBody(response: LightMyRequestResponse): Record<string, unknown> | undefined {
  try {
    return response.json()
  } catch {
    return undefined
  }
}

beforeAll(async () => {
  await seedCatalog(env.db)
  eventId = await createEvent(env.db, 'mysql outage')
  accounts = await insertAccounts(env.db, FANS, { prefix: 'out' })
  const viaProxy = await startMysqlProxy(env.mysqlUrl)
  proxy = viaProxy.proxy
  const overrides = {
    MYSQL_URL: viaProxy.url,
    QUEUE_MAX_ACTIVE: String(MAX_ACTIVE),
    QUEUE_ADMIT_PER_SECOND: '200',
    QUEUE_ACTIVE_TTL_SECONDS: '600',
    QUEUE_ADMIT_INTERVAL_MS: '50',
    MIRROR_MAX_BACKLOG: String(MAX_BACKLOG),
  }
  apps = [
    await buildGateway(env, overrides, { workers: true }),
    await buildGateway(env, overrides, { workers: true }),
  ]
  // Half the fans were seen by both copies in the last few minutes (the account
  // existence cache holds hits for 5 min): during the cut their joins get past
  // that check and reach Redis and the durable write; the other half's joins
  // stop at the check. Both ways must end in a 503, never a 500.
  const warm = accounts.filter((_, i) => Math.floor(i / 2) % 2 === 0)
  for (const app of apps) {
    await Promise.all([app.knownEvents.has(eventId), ...warm.map((id) => app.knownAccounts.has(id))])
  }
}, 60_000)

afterAll(async () => {
  await Promise.all((apps ?? []).map((app) => app.close()))
  await proxy?.close()
})

/** At most `limit` callers inside at once. */
function semaphore(limit: number) {
  let inside = 0
  const waiting: Array<() => void> = []
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (inside >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    inside += 1
    try {
      return await work()
    } finally {
      inside -= 1
      waiting.shift()?.()
    }
  }
}

describe('MySQL down for 10 s during joins, then Redis loses everything', () => {
  it('joins get 503 with Retry-After (never 500), and after FLUSHALL no acknowledged ticket is lost', async () => {
    const keys = eventKeys(env.keyPrefix, eventId)
    const fans: Fan[] = accounts.map((accountId) => ({ accountId, answers: [] }))
    const limit = semaphore(CONCURRENCY)
    /** Acknowledged tickets whose QUEUE_TOKEN row was not there when the answer arrived. */
    const notDurableAtAck: string[] = []
    let phase: Phase = 'before'
    const start = Date.now()
    const giveUpAt = start + BEFORE_MS + CUT_MS + AFTER_MS + 15_000

    // Each fan arrives on schedule, joins, and on a 503 waits Retry-After and joins again
    // (alternating copies, as a load balancer would), until acknowledged.
    async function runFan(fan: Fan, index: number): Promise<void> {
      await sleep(start + (index * 1000) / ARRIVALS_PER_SECOND - Date.now())
      for (let attempt = 0; Date.now() < giveUpAt; attempt += 1) {
        const app = apps[(index + attempt) % 2] as App
        const sentIn = phase
        const response = await limit(() => join(app, fan.accountId, eventId))
        const answer: Answer = {
          accountId: fan.accountId,
          phase: sentIn,
          status: response.statusCode,
          contentType: response.headers['content-type'] as string | undefined,
          retryAfter: response.headers['retry-after'] as string | undefined,
          body: jsonBody(response),
        }
        fan.answers.push(answer)
        if (response.statusCode === 201 || response.statusCode === 200) {
          fan.ticket = response.json() as Ticket
          fan.ackStatus = response.statusCode
          const row = await env.db
            .selectFrom('QUEUE_TOKEN')
            .select(['token', 'position'])
            .where('token', '=', fan.ticket.token)
            .executeTakeFirst()
          if (!row) notDurableAtAck.push(fan.ticket.token)
          fan.placeAtAck = row?.position
          return
        }
        if (response.statusCode !== 503) return // recorded; asserted below
        await sleep(Number(answer.retryAfter ?? 1) * 1000)
      }
    }

    // The unmirrored backlog (stream entries, and of those the ones a mirror has read
    // but not written), sampled from the start until the FLUSHALL after the cut.
    const backlog = { maxEntries: 0, maxPending: 0, samples: 0 }
    const sampleBacklog = async () => {
      const [entries, pending] = await Promise.all([
        env.redis.xlen(keys.stream),
        env.redis.xpending(keys.stream, 'mirror').catch(() => [0]) as Promise<[number]>,
      ])
      backlog.maxEntries = Math.max(backlog.maxEntries, entries)
      backlog.maxPending = Math.max(backlog.maxPending, Number(pending[0] ?? 0))
      backlog.samples += 1
    }
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await sampleBacklog()
        await sleep(20)
      }
    })()

    // MySQL dies while transactions are running, as it does under load: the test
    // holds the event's QUEUE_EPOCH row so the gateways' durable writes and mirror
    // batches queue up inside their transactions, and cuts the link once some do.
    // When it comes back, Redis loses everything before the mirror catches up.
    let cutMidTransaction = 0
    let backlogAtRestore = 0
    /** Fans acknowledged when Redis lost everything, and those of them a poll then did not find as they were. */
    let ackedAtLoss: Fan[] = []
    let lostAtLoss: string[] = []
    const outage = (async () => {
      await sleep(BEFORE_MS)
      const held = await holdEpochRow(env, eventId)
      try {
        await waitFor(async () => (await lockWaiters(env)) >= 2, 'writers waiting', 5_000)
        cutMidTransaction = await lockWaiters(env)
        phase = 'cut'
        proxy.cut()
      } finally {
        await held.release()
      }
      await sleep(CUT_MS)
      sampling = false
      await sampler
      await sampleBacklog()
      backlogAtRestore = await env.redis.xlen(keys.stream)
      proxy.restore()
      await env.localRedis?.flushAll()
      phase = 'after'
      // Every fan acknowledged so far still holds its ticket at its place (the first
      // poll rebuilds the queue from QUEUE_TOKEN); the tickets issued during the cut
      // but never acknowledged were in the backlog, and are gone.
      ackedAtLoss = fans.filter((fan) => fan.ticket)
      const polls = await Promise.all(
        ackedAtLoss.map((fan, i) =>
          limit(() =>
            (apps[i % 2] as App).inject({ method: 'GET', url: `/v1/queue/tokens/${fan.ticket?.token}` }),
          ),
        ),
      )
      const places = await redisTokens(env.redis, env.keyPrefix, eventId)
      const placeOf = new Map(places.map((state) => [state.token, state.place]))
      lostAtLoss = ackedAtLoss
        .filter((fan, i) => {
          const poll = polls[i]
          return (
            poll?.statusCode !== 200 ||
            poll.json().token !== fan.ticket?.token ||
            placeOf.get(fan.ticket?.token as string) !== fan.placeAtAck
          )
        })
        .map((fan) => fan.accountId)
    })()
    await Promise.all([outage, ...fans.map(runFan)])
    const runMs = Date.now() - start

    // No 5xx but 503, and no 4xx at all (every account and the event exist).
    const answers = fans.flatMap((fan) => fan.answers)
    const unexpected = answers.filter((a) => ![200, 201, 503].includes(a.status))
    expect(unexpected).toEqual([])
    // Every 503 is a problem+json SERVICE_UNAVAILABLE with a Retry-After in seconds.
    const unavailable = answers.filter((a) => a.status === 503)
    for (const a of unavailable) {
      expect(a.contentType).toMatch(/^application\/problem\+json/)
      expect(a.retryAfter).toMatch(/^[1-9][0-9]*$/)
      expect(a.body).toEqual({
        type: 'https://errors.concert.example/service-unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: expect.any(String),
        code: 'SERVICE_UNAVAILABLE',
        instance: expect.stringMatching(/^urn:request:/),
      })
    }
    // The cut really hit both paths: joins refused at the account check or the
    // durable write (MySQL unreachable), and joins refused by the mirror backlog bound.
    const details = new Map<string, number>()
    for (const a of unavailable)
      details.set(String(a.body?.detail), (details.get(String(a.body?.detail)) ?? 0) + 1)
    expect([...details.keys()].some((d) => /backing service is unavailable/.test(d))).toBe(true)
    expect([...details.keys()].some((d) => /busy recording places/.test(d))).toBe(true)

    // Once MySQL is back every fan gets in, each with a token of their own.
    const unacknowledged = fans.filter((fan) => !fan.ticket).map((fan) => fan.accountId)
    expect(unacknowledged).toEqual([])
    const acked = fans.map((fan) => fan.ticket as Ticket)
    expect(new Set(acked.map((t) => t.token)).size).toBe(FANS)
    expect(acked.every((t, i) => t.accountId === fans[i]?.accountId)).toBe(true)
    expect(notDurableAtAck).toEqual([])

    // The backlog reached its bound during the cut (so joins were refused for it) and
    // never passed it by more than one admission tick.
    expect(backlog.maxEntries).toBeGreaterThanOrEqual(MAX_BACKLOG)
    expect(backlog.maxEntries).toBeLessThanOrEqual(MAX_BACKLOG + BACKLOG_SLACK)
    expect(backlog.maxPending).toBeLessThanOrEqual(backlog.maxEntries)
    // Redis lost everything while that backlog was still unmirrored: every fan
    // acknowledged by then still had their ticket, at their place.
    expect(backlogAtRestore).toBeGreaterThanOrEqual(MAX_BACKLOG)
    expect(ackedAtLoss.length).toBeGreaterThan(0)
    expect(lostAtLoss).toEqual([])

    // The mirror catches up and admission has filled every slot, so nothing changes any more.
    await waitFor(
      async () =>
        (await env.redis.zcard(keys.active)) === MAX_ACTIVE && (await env.redis.xlen(keys.stream)) === 0,
      'mirror caught up and READY full',
      15_000,
    )
    const poll = (token: string, i: number) =>
      limit(() => (apps[i % 2] as App).inject({ method: 'GET', url: `/v1/queue/tokens/${token}` }))
    const beforeFlush = await Promise.all(acked.map((t, i) => poll(t.token, i)))
    expect(beforeFlush.map((r) => r.statusCode)).toEqual(acked.map(() => 200))
    const ticketsBefore = beforeFlush.map((r) => r.json() as Ticket)
    const placesBefore = new Map(
      (await redisTokens(env.redis, env.keyPrefix, eventId)).map((s) => [s.token, s.place]),
    )
    expect(accountsWithTwoLiveTokens(await redisTokens(env.redis, env.keyPrefix, eventId))).toEqual({})

    // Redis loses everything again, now with nothing left to mirror.
    await env.localRedis?.flushAll()
    expect(await env.redis.exists(keys.marker)).toBe(0)

    const afterFlush = await Promise.all(acked.map((t, i) => poll(t.token, i)))
    const lost = acked.filter((t, i) => {
      const after = afterFlush[i]
      return (
        after?.statusCode !== 200 || after.json().token !== t.token || after.json().accountId !== t.accountId
      )
    })
    expect(lost.map((t) => t.token)).toEqual([])
    // Each ticket reads exactly as before the loss: same status, same position in line, same times.
    const comparable = (t: Ticket) => ({
      token: t.token,
      accountId: t.accountId,
      status: t.status,
      position: t.position,
      issuedAt: t.issuedAt,
      readyAt: t.readyAt,
      expiresAt: t.expiresAt,
      reason: t.reason,
    })
    expect(afterFlush.map((r) => comparable(r.json()))).toEqual(ticketsBefore.map(comparable))
    // Places are the FIFO counter's numbers: every acknowledged token has its old one back,
    // so the waiters' relative order is the original one.
    const stateAfter = await redisTokens(env.redis, env.keyPrefix, eventId)
    const placesAfter = new Map(stateAfter.map((s) => [s.token, s.place]))
    expect(acked.map((t) => placesAfter.get(t.token))).toEqual(acked.map((t) => placesBefore.get(t.token)))
    const waitersByPosition = afterFlush
      .map((r) => r.json() as Ticket)
      .filter((t) => t.status === 'WAITING')
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    const theirPlaces = waitersByPosition.map((t) => placesAfter.get(t.token) as number)
    expect(theirPlaces).toEqual([...theirPlaces].sort((a, b) => a - b))
    expect(waitersByPosition.map((t) => t.position)).toEqual(waitersByPosition.map((_, i) => i + 1))

    // Still one live token per account, in Redis and in MySQL, and joining again
    // after the rebuild gives each fan the token they had.
    expect(accountsWithTwoLiveTokens(stateAfter)).toEqual({})
    const rows = await tokenRows(env.db, eventId)
    expect(
      accountsWithTwoLiveTokens(
        rows.map((r) => ({ accountId: r.account_id, token: r.token, status: r.status })),
      ),
    ).toEqual({})
    const rejoined = await Promise.all(
      acked.map((t, i) => limit(() => join(apps[i % 2] as App, t.accountId, eventId))),
    )
    expect(rejoined.map((r) => [r.statusCode, r.json().token])).toEqual(acked.map((t) => [200, t.token]))

    console.info(
      `mysql-outage: ${FANS} fans, ${answers.length} joins in ${runMs} ms; ` +
        `503s ${JSON.stringify(Object.fromEntries(details))}; ` +
        `backlog at most ${backlog.maxEntries} entries (${backlog.maxPending} read by a mirror, ${backlog.samples} samples), ` +
        `${backlogAtRestore} unmirrored when MySQL came back and Redis lost everything, ${ackedAtLoss.length} fans acknowledged by then; ` +
        `${fans.filter((fan) => fan.ackStatus === 200).length} fans acknowledged with 200; proxy saw ${proxy.accepted} connections; ` +
        `${cutMidTransaction} transactions were waiting inside MySQL when it was cut`,
    )
  }, 120_000)
})
