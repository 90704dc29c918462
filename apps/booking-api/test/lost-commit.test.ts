import type { App } from '@concert/http'
import { catalogVersionsKey, eventKeys, F } from '@concert/queue'
import { readTokenState, readyTokens as readyTokensOf, sleep } from '@concert/queue/testing'
import {
  accountBalance,
  insertAccounts,
  isMysqlCommit,
  mysqlQueryText,
  parseMetrics,
  sampleValue,
  seedCatalog,
  startMysqlProxy,
  startRedisProxy,
  type TcpProxy,
  useTestEnv,
  within,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, buildAdminBooking } from './admin-helpers.js'
import { bearer, buildBooking, expectInvariants, fastQueue, until } from './helpers.js'

/*
 * A payment whose connection to MySQL drops at the worst moment. The booking API reaches
 * MySQL through a proxy that can drop the server's answer to one statement and reset that
 * connection (loseReplyTo): the statement ran on the server, the app only sees the reset.
 * A lost answer to COMMIT leaves the outcome unknown to the app; it must find out, not guess.
 */

const env = useTestEnv()
let app: App
let proxy: TcpProxy
/** MYSQL_URL through the proxy. */
let proxyUrl: string
let catalog: Awaited<ReturnType<typeof seedCatalog>>
/** The claim's and the seat locks' TTL: what an attempt leaves behind lapses this fast. */
const TTL_MS = 2_000

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  const viaProxy = await startMysqlProxy(env.mysqlUrl)
  proxy = viaProxy.proxy
  proxyUrl = viaProxy.url
  app = await buildBooking(
    env,
    {
      MYSQL_URL: proxyUrl,
      CLAIM_TTL_MS: String(TTL_MS),
      SEAT_LOCK_TTL_MS: String(TTL_MS),
      // A statement without an answer fails after this long (a silent MySQL, below).
      DB_QUERY_TIMEOUT_MS: '2000',
    },
    { poolSize: 2 },
  )
})
afterAll(async () => {
  await app?.close()
  await proxy?.close()
})

const isCommit = isMysqlCommit
/** The guarded debit, the transaction's first write (accounts.repository.ts). */
const isDebit = (chunk: Buffer) => /^update `?account`?\b/.test(mysqlQueryText(chunk))

/** A fan with a READY token; `queue`: the queue that admits it (its settings: the READY window). */
async function fan(prefix: string, queue = fastQueue(env)) {
  const [accountId] = (await insertAccounts(env.db, 1, { prefix, balance: 1_000_000 })) as [string]
  const token = (await readyTokensOf(queue, catalog.eventId, [accountId])).get(accountId) as string
  return { accountId, token }
}

function reserve(token: string, scheduleId: number, seatId: number, idempotencyKey?: string) {
  return reserveOn(app, token, scheduleId, seatId, idempotencyKey)
}

function reserveOn(on: App, token: string, scheduleId: number, seatId: number, idempotencyKey?: string) {
  return on.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { ...bearer(token), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    payload: { scheduleId, seatId },
  })
}

const schedule = () => {
  const found = catalog.schedules.find((s) => s.event_id === catalog.eventId)
  if (!found) throw new Error('no schedule')
  return found
}
const seatKey = (scheduleId: number, seatId: number) =>
  eventKeys(env.keyPrefix, catalog.eventId).seatKeyBase(scheduleId) + seatId

/** The account's balance, read past the proxy. */
const balanceOf = (accountId: string) => accountBalance(env.db, accountId)

/** The seat's reservations of the show, read past the proxy. */
function reservationsOf(scheduleId: number, seatId: number) {
  return env.db
    .selectFrom('RESERVATION')
    .select(['id', 'account_id', 'status'])
    .where('schedule_id', '=', scheduleId)
    .where('seat_id', '=', seatId)
    .execute()
}

/** The background settling's figures on `on`'s /metrics: payments pending, and settled by outcome. */
async function settling(on: App) {
  const metrics = parseMetrics((await on.inject({ method: 'GET', url: '/metrics' })).body)
  const settled = (outcome: string) =>
    sampleValue(metrics.get('booking_payments_settled_total'), { outcome }) ?? 0
  return {
    pending: sampleValue(metrics.get('booking_unsettled_payments')),
    committed: settled('committed'),
    rolledBack: settled('rolled_back'),
  }
}

/** loseReplyTo, and MySQL cut at the moment the answer is lost (restore it after). */
function loseReplyThenCut(sent: (chunk: Buffer) => boolean): Promise<void> {
  const lost = proxy.loseReplyTo(sent)
  lost.then(
    () => proxy.cut(),
    () => {},
  )
  return lost
}

/** The sale stands for everyone else: another fan is refused the seat (409 naming it). */
async function expectSeatRefused(scheduleId: number, seatId: number, otherPrefix: string) {
  const other = await fan(otherPrefix)
  const refused = await reserve(other.token, scheduleId, seatId)
  expect(refused.statusCode).toBe(409)
  expect(refused.json()).toMatchObject({ code: 'SEAT_ALREADY_RESERVED', seatIds: [seatId] })
}

describe('a payment whose connection drops', () => {
  it('after its COMMIT landed: answered 201 with the order as written, the token COMPLETED and the seat sold in Redis', async () => {
    const { accountId, token } = await fan('lost-commit')
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[5] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)

    const lost = proxy.loseReplyTo(isCommit)
    const answer = await reserve(token, scheduleId, seat.id)
    await lost

    expect(answer.statusCode).toBe(201)
    const rows = await reservationsOf(scheduleId, seat.id)
    expect(rows).toEqual([{ id: expect.any(Number), account_id: accountId, status: 'SOLD' }])
    expect(answer.json()).toMatchObject({
      accountId,
      scheduleId,
      seatId: seat.id,
      reservationId: rows[0]?.id,
      balance: await balanceOf(accountId),
    })
    expect(answer.headers['idempotent-replayed']).toBeUndefined()

    // Redis says what MySQL says: the token spent (no READY slot held), the seat sold.
    expect(await readTokenState(env.redis, k, token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
    })
    expect(await env.redis.zscore(k.active, token)).toBeNull()
    expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBe('!sold')
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['reason', 'version'])
      .where('token', '=', token)
      .executeTakeFirstOrThrow()
    expect(row.version).toBe((await readTokenState(env.redis, k, token))?.version)

    // Another fan for the same seat is refused in Redis; this fan's retry is refused (token spent).
    await expectSeatRefused(scheduleId, seat.id, 'lost-commit-other')
    expect((await reserve(token, scheduleId, seat.id)).statusCode).toBe(401)
    await expectInvariants(env)
  })

  it('after its COMMIT landed, with that connection silent from then on (no reset): 201 once DB_QUERY_TIMEOUT_MS gives up on it, the token COMPLETED', async () => {
    const { accountId, token } = await fan('silent-commit')
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[9] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    const before = await balanceOf(accountId)

    // The answer to COMMIT never comes, and nothing says so: without the statement timeout
    // the payment waits for TCP to give up (minutes), holding its claim and seat lock.
    const lost = proxy.loseReplyTo(isCommit, 10_000, 'silence')
    const answer = await within(10_000, reserve(token, scheduleId, seat.id))
    await lost

    // The timeout ended that connection; a fresh one read what the COMMIT did.
    expect(answer.statusCode).toBe(201)
    const rows = await reservationsOf(scheduleId, seat.id)
    expect(rows).toEqual([{ id: expect.any(Number), account_id: accountId, status: 'SOLD' }])
    const paid = await balanceOf(accountId)
    expect(paid).toBeLessThan(before)
    expect(answer.json()).toMatchObject({
      accountId,
      seatId: seat.id,
      reservationId: rows[0]?.id,
      balance: paid,
    })
    expect(await readTokenState(env.redis, k, token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
    })
    expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBe('!sold')
    await expectSeatRefused(scheduleId, seat.id, 'silent-commit-other')
    await expectInvariants(env)
  })

  it('with an Idempotency-Key: the answer is the order, and the retry with the key replays it', async () => {
    const { accountId, token } = await fan('lost-commit-key')
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[6] as { id: number }

    const lost = proxy.loseReplyTo(isCommit)
    const answer = await reserve(token, scheduleId, seat.id, 'order-1')
    await lost
    expect(answer.statusCode).toBe(201)
    const retry = await reserve(token, scheduleId, seat.id, 'order-1')
    expect(retry.statusCode).toBe(201)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toEqual(answer.json())
    expect(answer.json()).toMatchObject({ accountId, seatId: seat.id })
    await expectInvariants(env)
  })

  it('before its COMMIT (the debit’s answer lost and MySQL gone, the transaction rolled back): 503, nothing moved, token and seat given back at once, and the retry pays', async () => {
    const { accountId, token } = await fan('lost-debit')
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[7] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    const before = await balanceOf(accountId)

    // MySQL also drops away at that moment: nothing needs reading, the rollback is certain.
    const lost = loseReplyThenCut(isDebit)
    const answer = await reserve(token, scheduleId, seat.id)
    await lost
    proxy.restore()
    expect(answer.statusCode).toBe(503)
    expect(answer.headers['content-type']).toContain('application/problem+json')
    expect(await balanceOf(accountId)).toBe(before)
    expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })
    expect(await env.redis.exists(seatKey(scheduleId, seat.id))).toBe(0)

    const retry = await reserve(token, scheduleId, seat.id)
    expect(retry.statusCode).toBe(201)
    expect(retry.json()).toMatchObject({ accountId, seatId: seat.id })
    await expectInvariants(env)
  })

  it('after its COMMIT, with MySQL gone before the outcome is read: 503, Redis neither finished nor given back while MySQL is away; once it is back, the sale is settled in Redis without any retry', async () => {
    const { accountId, token } = await fan('lost-unknown')
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[8] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    const versionsKey = catalogVersionsKey(env.keyPrefix, catalog.eventId)
    const versionsBefore = await env.redis.hgetall(versionsKey)

    // MySQL drops away the moment the COMMIT's answer is lost: the check cannot be made.
    const lost = loseReplyThenCut(isCommit)
    const answer = await reserve(token, scheduleId, seat.id)
    await lost
    expect(answer.statusCode).toBe(503)
    // The sale committed; Redis was left as the attempt had it (its claim, its seat lock),
    // and stays so while MySQL cannot say (the background asks fail): past the lock's TTL.
    expect(await reservationsOf(scheduleId, seat.id)).toEqual([
      { id: expect.any(Number), account_id: accountId, status: 'SOLD' },
    ])
    expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })
    const lockOwner = await env.redis.get(seatKey(scheduleId, seat.id))
    expect(lockOwner).not.toBeNull()
    expect(lockOwner).not.toBe('!sold')
    await sleep(TTL_MS + 200)
    expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })
    expect(await env.redis.exists(seatKey(scheduleId, seat.id))).toBe(0)
    const records = await env.redis.xlen(k.stream)
    const before = await settling(app)
    expect(before.pending).toBe(1)

    // MySQL is back: with no request from anyone, the sale is finished in Redis as a 201's is.
    proxy.restore()
    // Counted once its outcome is applied in Redis.
    await until(
      async () => (await settling(app)).committed === before.committed + 1,
      'the unknown outcome to be settled',
    )
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['version', 'expires_at'])
      .where('token', '=', token)
      .executeTakeFirstOrThrow()
    expect(await readTokenState(env.redis, k, token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
      version: row.version,
      expiresAt: row.expires_at?.getTime(),
    })
    expect(await env.redis.zscore(k.active, token)).toBeNull()
    expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBe('!sold')
    expect(await env.redis.hgetall(versionsKey)).not.toEqual(versionsBefore)
    // Durable already (the row says it): no record for the mirror, no unmirrored mark.
    expect(await env.redis.xlen(k.stream)).toBe(records)
    expect(await env.redis.hexists(k.token(token), F.unmirrored)).toBe(0)
    expect(await settling(app)).toEqual({
      pending: 0,
      committed: before.committed + 1,
      rolledBack: before.rolledBack,
    })

    // The sale stands: the fan's retry is refused 401, another buyer 409.
    expect((await reserve(token, scheduleId, seat.id)).statusCode).toBe(401)
    await expectSeatRefused(scheduleId, seat.id, 'lost-unknown-other')
    await expectInvariants(env)
  })

  it('a COMMIT lost on its way (rolled back), with MySQL gone before the outcome is read: 503; once MySQL is back, the claim and the seat lock are given back long before their TTL', async () => {
    // A copy whose claims and locks would hold for a minute: only the settling lets them go.
    const copy = await buildBooking(
      env,
      { MYSQL_URL: proxyUrl, CLAIM_TTL_MS: '60000', SEAT_LOCK_TTL_MS: '60000' },
      { poolSize: 2 },
    )
    try {
      const { accountId, token } = await fan('lost-rolled-back')
      const { id: scheduleId } = schedule()
      const seat = catalog.seats[13] as { id: number }
      const k = eventKeys(env.keyPrefix, catalog.eventId)
      const before = await balanceOf(accountId)

      const lost = proxy.loseReplyTo(isCommit, 10_000, 'unsent')
      lost.then(
        () => proxy.cut(),
        () => {},
      )
      const answer = await reserveOn(copy, token, scheduleId, seat.id)
      await lost
      expect(answer.statusCode).toBe(503)
      // Rolled back: nothing sold, nothing taken; Redis still holds the attempt's claim and lock.
      expect(await reservationsOf(scheduleId, seat.id)).toEqual([])
      expect(await balanceOf(accountId)).toBe(before)
      expect(await env.redis.exists(seatKey(scheduleId, seat.id))).toBe(1)
      expect(await env.redis.hexists(k.token(token), F.claim)).toBe(1)

      proxy.restore()
      await until(
        async () => (await settling(copy)).rolledBack === 1,
        'the rolled-back attempt to be settled',
      )
      expect(await settling(copy)).toEqual({ pending: 0, committed: 0, rolledBack: 1 })
      expect(await env.redis.exists(seatKey(scheduleId, seat.id))).toBe(0)
      expect(await env.redis.hexists(k.token(token), F.claim)).toBe(0)
      expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })
      // The fan pays at once, on either copy.
      const retry = await reserveOn(copy, token, scheduleId, seat.id)
      expect(retry.statusCode).toBe(201)
      expect(retry.json()).toMatchObject({ accountId, seatId: seat.id })
      await expectInvariants(env)
    } finally {
      proxy.restore()
      await copy.close()
    }
  })

  it('after its COMMIT, with MySQL gone before the outcome is read, and Redis away when MySQL is back: the sale is finished in Redis once Redis is back too, not counted settled before', async () => {
    const { proxy: redisLink, url: redisViaLink } = await startRedisProxy(env.redisUrl)
    const copy = await buildBooking(env, { MYSQL_URL: proxyUrl, REDIS_URL: redisViaLink }, { poolSize: 2 })
    try {
      const { token } = await fan('lost-then-redis')
      const { id: scheduleId } = schedule()
      const seat = catalog.seats[14] as { id: number }
      const k = eventKeys(env.keyPrefix, catalog.eventId)

      const lost = loseReplyThenCut(isCommit)
      const answer = await reserveOn(copy, token, scheduleId, seat.id)
      await lost
      expect(answer.statusCode).toBe(503)

      // MySQL answers again while the copy cannot reach Redis: the outcome is known, not applied.
      redisLink.cut()
      proxy.restore()
      await sleep(2_000)
      expect(await settling(copy)).toEqual({ pending: 1, committed: 0, rolledBack: 0 })
      expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })

      redisLink.restore()
      await until(async () => (await settling(copy)).committed === 1, 'the sale to be finished in Redis')
      expect(await settling(copy)).toEqual({ pending: 0, committed: 1, rolledBack: 0 })
      expect(await readTokenState(env.redis, k, token)).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
      })
      expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBe('!sold')
      await expectInvariants(env)
    } finally {
      proxy.restore()
      redisLink.restore()
      await copy.close()
      await redisLink.close()
    }
  })

  it('after its COMMIT, with MySQL gone before the outcome is read, and an operator refunding the sale meanwhile: the late settle ends the token and leaves the seat on sale', async () => {
    // The operator's copy reaches MySQL directly: the refund runs while the paying copy cannot.
    const operator = await buildAdminBooking(env)
    try {
      const { accountId, token } = await fan('lost-refunded')
      const { id: scheduleId } = schedule()
      const seat = catalog.seats[10] as { id: number }
      const k = eventKeys(env.keyPrefix, catalog.eventId)
      const before = await settling(app)

      const lost = loseReplyThenCut(isCommit)
      const answer = await reserve(token, scheduleId, seat.id)
      await lost
      expect(answer.statusCode).toBe(503)
      const [sale] = await reservationsOf(scheduleId, seat.id)
      expect(sale).toEqual({ id: expect.any(Number), account_id: accountId, status: 'SOLD' })

      const refund = await admin(operator, 'POST', `/v1/admin/reservations/${sale?.id}/refund`, {
        reason: 'refunded while the payment was unsettled',
      })
      expect(refund.status).toBe(200)
      expect(await reservationsOf(scheduleId, seat.id)).toEqual([{ ...sale, status: 'REFUNDED' }])

      // MySQL is back: the settle finds the payment committed and finishes it in Redis.
      proxy.restore()
      await until(
        async () => (await settling(app)).committed === before.committed + 1,
        'the unknown outcome to be settled',
      )
      expect(await readTokenState(env.redis, k, token)).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
      })
      expect(await env.redis.zscore(k.active, token)).toBeNull()
      // The seat was refunded: no SOLD marker, and another fan buys it at once.
      expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBeNull()
      const other = await fan('lost-refunded-other')
      const bought = await reserve(other.token, scheduleId, seat.id)
      expect(bought.statusCode).toBe(201)
      expect(bought.json()).toMatchObject({ accountId: other.accountId, seatId: seat.id })
      await expectInvariants(env)
    } finally {
      proxy.restore()
      await operator.close()
    }
  })

  it('a payment that commits while Redis goes away: 201, and the sale is finished in Redis once Redis is back, with no request from anyone', async () => {
    const { proxy: redisLink, url: redisViaLink } = await startRedisProxy(env.redisUrl)
    const copy = await buildBooking(env, { MYSQL_URL: proxyUrl, REDIS_URL: redisViaLink }, { poolSize: 2 })
    try {
      const { accountId, token } = await fan('commit-then-redis')
      const { id: scheduleId } = schedule()
      const seat = catalog.seats[15] as { id: number }
      const k = eventKeys(env.keyPrefix, catalog.eventId)

      // Redis is cut from the copy as its COMMIT goes out: the sale commits, Redis cannot hear of it.
      proxy.watchFor(isCommit).then(
        () => redisLink.cut(),
        () => {},
      )
      const answer = await reserveOn(copy, token, scheduleId, seat.id)
      expect(answer.statusCode).toBe(201)
      expect(answer.json()).toMatchObject({ accountId, seatId: seat.id })
      expect(await settling(copy)).toEqual({ pending: 1, committed: 0, rolledBack: 0 })
      expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'READY' })

      redisLink.restore()
      await until(async () => (await settling(copy)).committed === 1, 'the sale to be finished in Redis')
      expect(await readTokenState(env.redis, k, token)).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
      })
      expect(await env.redis.zscore(k.active, token)).toBeNull()
      expect(await env.redis.get(seatKey(scheduleId, seat.id))).toBe('!sold')
      await expectInvariants(env)
    } finally {
      redisLink.restore()
      await copy.close()
      await redisLink.close()
    }
  })

  it('after its COMMIT, with MySQL gone before the outcome is read, on a copy that then went away, and the READY window over before the retry (Redis says TIMEOUT): the retry with its Idempotency-Key replays the order, Redis is brought to COMPLETED, and the token still lists the purchase', async () => {
    // The copy that pays goes away before MySQL is back: nobody settles the outcome. Built
    // (and its caches warmed) before the token's short window starts.
    const copy = await buildBooking(env, { MYSQL_URL: proxyUrl }, { poolSize: 2 })
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[11] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    const WINDOW_SECONDS = 4
    const queue = fastQueue(env, { activeTtlSeconds: WINDOW_SECONDS })
    let paying: Awaited<ReturnType<typeof fan>>
    let answer: Awaited<ReturnType<typeof reserve>>
    try {
      await copy.inject({ method: 'GET', url: `/v1/schedules/${scheduleId}/seats` })
      paying = await fan('lost-window', queue)
      const lost = loseReplyThenCut(isCommit)
      answer = await reserveOn(copy, paying.token, scheduleId, seat.id, 'order-window')
      await lost
    } finally {
      await copy.close()
      proxy.restore()
    }
    const { accountId, token } = paying
    expect(answer.statusCode).toBe(503)
    const [sold] = await reservationsOf(scheduleId, seat.id)
    expect(sold).toMatchObject({ account_id: accountId, status: 'SOLD' })

    // The window ends with Redis never told of the payment: the admission tick expires it.
    const { expiresAt } = (await readTokenState(env.redis, k, token)) as { expiresAt: number }
    await sleep(Math.max(0, expiresAt - Date.now()) + 100)
    await queue.admit(catalog.eventId)
    expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'EXPIRED', reason: 'TIMEOUT' })

    // A retry without the key cannot be matched to the order: refused as Redis says.
    const keyless = await reserve(token, scheduleId, seat.id)
    expect(keyless.statusCode).toBe(401)
    expect(keyless.json()).toMatchObject({ code: 'TOKEN_EXPIRED' })

    // With it, MySQL says the token paid: the first answer, with the order as it committed.
    const retry = await reserve(token, scheduleId, seat.id, 'order-window')
    expect(retry.statusCode).toBe(201)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toMatchObject({
      reservationId: sold?.id,
      accountId,
      scheduleId,
      seatId: seat.id,
      balance: await balanceOf(accountId),
    })
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['version', 'reason', 'expires_at'])
      .where('token', '=', token)
      .executeTakeFirstOrThrow()
    expect(row.reason).toBe('COMPLETED')
    expect(await readTokenState(env.redis, k, token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
      expiresAt: row.expires_at?.getTime(),
    })
    // Another key is another request: the spent token refuses it.
    const otherKey = await reserve(token, scheduleId, seat.id, 'order-window-2')
    expect(otherKey.statusCode).toBe(401)

    // The paid token may still show what it bought.
    const listed = await app.inject({
      method: 'GET',
      url: `/v1/accounts/${accountId}/reservations`,
      headers: bearer(token),
    })
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toEqual([expect.objectContaining({ reservationId: sold?.id, seatId: seat.id })])
    await expectInvariants(env)
  })

  it('a token whose READY window ended unpaid stays refused on the routes a paid token may use', async () => {
    const queue = fastQueue(env, { activeTtlSeconds: 1 })
    const { accountId, token } = await fan('window-unpaid', queue)
    const { id: scheduleId } = schedule()
    const seat = catalog.seats[12] as { id: number }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    await sleep(1_100)
    // Past its window but not yet expired by a tick, then expired by one: both refused.
    for (const expire of [false, true]) {
      if (expire) await queue.admit(catalog.eventId)
      const retry = await reserve(token, scheduleId, seat.id, 'never-paid')
      expect(retry.statusCode).toBe(401)
      expect(retry.json()).toMatchObject({ code: 'TOKEN_EXPIRED', detail: 'queue token expired (TIMEOUT)' })
      const listed = await app.inject({
        method: 'GET',
        url: `/v1/accounts/${accountId}/reservations`,
        headers: bearer(token),
      })
      expect(listed.statusCode).toBe(401)
    }
    expect(await readTokenState(env.redis, k, token)).toMatchObject({ status: 'EXPIRED', reason: 'TIMEOUT' })
    expect(await reservationsOf(scheduleId, seat.id)).toEqual([])
  })
})
