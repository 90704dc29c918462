import type { App } from '@concert/http'
import { markTokenCompleted } from '@concert/queue'
import { readTokenState, readyTokens as readyTokensOf } from '@concert/queue/testing'
import {
  accountBalance,
  createEvent,
  insertAccounts,
  lockWaiters,
  parseMetrics,
  sampleValue,
  seedCatalog,
  startMysqlProxy,
  startRedisProxy,
  useTestEnv,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  bearer,
  buildBooking,
  expectInvariants,
  fastQueue,
  holdAccountRow,
  readyTokens,
  until,
} from './helpers.js'

/*
 * POST /v1/reservations checks its queue token in begin-purchase, the Redis step that
 * claims it, instead of in the guard's own round trip before it. These tests pin down
 * that every answer is still the guard's, in the guard's order, and that a purchase and
 * a hot seat's loser make no separate token check.
 */

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>
let scheduleId: number
let otherScheduleId: number

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  scheduleId = (catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }).id
  otherScheduleId = (catalog.schedules.find((s) => s.event_id === catalog.otherEventId) as { id: number }).id
  await insertAccounts(env.db, 21, { prefix: 't', balance: 1_000_000 })
  app = await buildBooking(env)
})
afterAll(async () => {
  await app?.close()
})

const reserveOn = (
  target: App,
  token: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) =>
  target.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { ...bearer(token), ...headers },
    payload: body,
  })
const reserve = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  reserveOn(app, token, body, headers)
const seat = (i: number) => (catalog.seats[i] as { id: number }).id
const tooMany = () => ({ scheduleId, seatIds: catalog.seats.slice(1, 40).map((s) => s.id) })

describe('POST /v1/reservations checks its token in begin-purchase', () => {
  it('answers every bad token as the guard does, before any fault of the seats, and changes nothing', async () => {
    const tokens = await readyTokens(env, catalog.eventId, ['t-1', 't-2'])
    const ready = tokens.get('t-1') as string
    const spent = tokens.get('t-2') as string
    const [seat, secondSeat] = catalog.seats.map((s) => ({ id: s.id })) as [{ id: number }, { id: number }]
    // t-2 pays once, so its token is spent (EXPIRED, COMPLETED).
    expect((await reserve(spent, { scheduleId, seatId: seat.id })).statusCode).toBe(201)
    const waitingEvent = await createEvent(env.db, 'reserve waiting')
    const waiting = (await fastQueue(env).join(waitingEvent, 't-3')).ticket.token
    const unknown = `${catalog.eventId}.AAAAAAAAAAAAAAAAAAAAAA`
    const free = { scheduleId, seatId: secondSeat.id }
    const noSuchSeat = { scheduleId, seatId: 999_999 }
    const noSuchShow = { scheduleId: 999_999, seatId: secondSeat.id }
    const tooMany = { scheduleId, seatIds: catalog.seats.slice(1, 40).map((s) => s.id) }

    const cases: Array<[string, string, Record<string, unknown>, number, string]> = [
      ['garbage', 'garbage', free, 401, 'TOKEN_INVALID'],
      ['unknown', unknown, free, 401, 'TOKEN_INVALID'],
      ['unknown, unknown seat', unknown, noSuchSeat, 401, 'TOKEN_INVALID'],
      ['unknown, unknown show', unknown, noSuchShow, 401, 'TOKEN_INVALID'],
      ['unknown, too many seats', unknown, tooMany, 401, 'TOKEN_INVALID'],
      ['waiting', waiting, free, 403, 'TOKEN_NOT_READY'],
      ['waiting, unknown seat', waiting, noSuchSeat, 403, 'TOKEN_NOT_READY'],
      ['spent', spent, free, 401, 'TOKEN_EXPIRED'],
      ['spent, a sold seat', spent, { scheduleId, seatId: seat.id }, 401, 'TOKEN_EXPIRED'],
      ['spent, unknown seat', spent, noSuchSeat, 401, 'TOKEN_EXPIRED'],
      [
        'another event’s show',
        ready,
        { scheduleId: otherScheduleId, seatId: secondSeat.id },
        403,
        'TOKEN_SCOPE_MISMATCH',
      ],
      ['ready, unknown show', ready, noSuchShow, 404, 'SCHEDULE_NOT_FOUND'],
      ['ready, unknown seat', ready, noSuchSeat, 404, 'SEAT_NOT_FOUND'],
      ['ready, too many seats', ready, tooMany, 409, 'ORDER_TOO_LARGE'],
      ['ready, a sold seat', ready, { scheduleId, seatId: seat.id }, 409, 'SEAT_ALREADY_RESERVED'],
    ]
    for (const [name, token, body, status, code] of cases) {
      const response = await reserve(token, body)
      expect({ name, status: response.statusCode, code: response.json().code }).toEqual({
        name,
        status,
        code,
      })
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    }

    // Nothing was sold but t-2's seat; t-1's token is still READY and buys afterwards.
    const sold = await env.db.selectFrom('RESERVATION').select(['account_id', 'seat_id']).execute()
    expect(sold).toEqual([{ account_id: 't-2', seat_id: seat.id }])
    expect((await reserve(ready, free)).statusCode).toBe(201)
    await expectInvariants(env)
  })

  it('leaves the mirror nothing to write for a paid token: the payment’s transaction wrote its COMPLETED row', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['t-20'])).get('t-20') as string
    const keys = app.queue.keys(catalog.eventId)
    // No mirror runs in this file: the stream keeps every record written for the token.
    const recordsOf = async () =>
      (await env.redis.xrange(keys.stream, '-', '+')).filter(([, fields]) => fields.includes(token)).length
    const before = await recordsOf()
    expect((await reserve(token, { scheduleId, seatId: seat(24) })).statusCode).toBe(201)
    expect(await recordsOf()).toBe(before)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['status', 'reason', 'version'])
      .where('token', '=', token)
      .executeTakeFirstOrThrow()
    const state = await readTokenState(env.redis, keys, token)
    expect(row).toEqual({ status: 'EXPIRED', reason: 'COMPLETED', version: state?.version })
    expect(state).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    await expectInvariants(env)
  })

  it('makes no separate token check for a purchase or a loser of its seat; a replay by key checks first', async () => {
    const tokens = await readyTokens(env, catalog.eventId, ['t-4', 't-5', 't-6', 't-7'])
    const seat = catalog.seats[10] as { id: number }
    // A first purchase on this copy caches the show's facts (the token is checked first while they are not).
    expect(
      (await reserve(tokens.get('t-7') as string, { scheduleId, seatId: catalog.seats[12]?.id })).statusCode,
    ).toBe(201)
    const verify = vi.spyOn(app.queue, 'verify')
    try {
      const bought = await reserve(tokens.get('t-4') as string, { scheduleId, seatId: seat.id })
      expect(bought.statusCode).toBe(201)
      const lost = await reserve(tokens.get('t-5') as string, { scheduleId, seatId: seat.id })
      expect(lost.json()).toMatchObject({ code: 'SEAT_ALREADY_RESERVED', seatIds: [seat.id] })
      expect(verify).not.toHaveBeenCalled()

      // With an Idempotency-Key the account is needed before the claim (a replay): one check.
      const key = { 'idempotency-key': 'reserve-token-test-1' }
      const first = await reserve(
        tokens.get('t-6') as string,
        { scheduleId, seatId: (catalog.seats[11] as { id: number }).id },
        key,
      )
      expect(first.statusCode).toBe(201)
      expect(verify).toHaveBeenCalledTimes(1)
      const again = await reserve(
        tokens.get('t-6') as string,
        { scheduleId, seatId: (catalog.seats[11] as { id: number }).id },
        key,
      )
      expect(again.statusCode).toBe(201)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.json()).toEqual(first.json())
    } finally {
      verify.mockRestore()
    }
    await expectInvariants(env)
  })

  it('answers a WAITING token of the event, an expired READY one and a spent one with the guard’s detail, before any fault', async () => {
    await readyTokens(env, catalog.eventId, ['t-8']).then(async (t) => {
      // The show's facts cached, so each token below reaches begin-purchase first.
      expect((await reserve(t.get('t-8') as string, { scheduleId, seatId: seat(13) })).statusCode).toBe(201)
    })
    const short = fastQueue(env, { activeTtlSeconds: 1 })
    const timedOut = (await readyTokensOf(short, catalog.eventId, ['t-10'])).get('t-10') as string
    const spent = (await readyTokens(env, catalog.eventId, ['t-11'])).get('t-11') as string
    expect((await reserve(spent, { scheduleId, seatId: seat(14) })).statusCode).toBe(201)
    // Joined last: no admission runs after it.
    const waiting = (await fastQueue(env).join(catalog.eventId, 't-9')).ticket.token
    await new Promise((resolve) => setTimeout(resolve, 1_100)) // t-10's READY time is up; nothing swept it
    const bodies = [
      { scheduleId, seatId: seat(15) },
      { scheduleId, seatId: seat(13) },
      { scheduleId, seatId: 999_999 },
      tooMany(),
    ]
    for (const body of bodies) {
      expect((await reserve(waiting, body)).json()).toMatchObject({
        status: 403,
        code: 'TOKEN_NOT_READY',
        detail: 'still waiting in the queue; poll the queue gateway',
      })
      expect((await reserve(timedOut, body)).json()).toMatchObject({
        status: 401,
        code: 'TOKEN_EXPIRED',
        detail: 'queue token expired (TIMEOUT)',
      })
      expect((await reserve(spent, body)).json()).toMatchObject({
        status: 401,
        code: 'TOKEN_EXPIRED',
        detail: 'queue token expired (COMPLETED)',
      })
    }
    // A spent token with an Idempotency-Key: a new key is refused as spent, whatever the order.
    let n = 0
    for (const body of bodies) {
      n += 1
      expect((await reserve(spent, body, { 'idempotency-key': `spent-${n}` })).json()).toMatchObject({
        code: 'TOKEN_EXPIRED',
        detail: 'queue token expired (COMPLETED)',
      })
    }
    await expectInvariants(env)
  })

  it('writes an admission the mirror has not written yet to QUEUE_TOKEN before a loser is answered', async () => {
    const queue = fastQueue(env)
    const { ticket } = await queue.join(catalog.eventId, 't-12')
    // READY in Redis only: nobody has polled it. Fans of earlier tests may wait ahead, and the
    // first tick after the queue sat unticked admits one at most: ticks until this one is READY.
    const keys = queue.keys(catalog.eventId)
    for (let i = 0; i < 50; i += 1) {
      await queue.admit(catalog.eventId)
      if ((await readTokenState(env.redis, keys, ticket.token))?.status === 'READY') break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect((await readTokenState(env.redis, keys, ticket.token))?.status).toBe('READY')
    expect((await reserve(ticket.token, { scheduleId, seatId: seat(13) })).json().code).toBe(
      'SEAT_ALREADY_RESERVED',
    )
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select('status')
      .where('token', '=', ticket.token)
      .executeTakeFirst()
    expect(row?.status).toBe('READY')
  })

  it('counts a token the guard’s check refuses as no attempt in booking_reservations_total, as before', async () => {
    const before = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body)
    const counted = (metrics: ReturnType<typeof parseMetrics>, outcome: string) =>
      sampleValue(metrics.get('booking_reservations_total'), { outcome }) ?? 0
    expect(
      (await reserve(`${catalog.eventId}.AAAAAAAAAAAAAAAAAAAAAA`, { scheduleId, seatId: seat(16) }))
        .statusCode,
    ).toBe(401)
    expect((await reserve('garbage', { scheduleId, seatId: seat(16) })).statusCode).toBe(401)
    const lost = (await readyTokens(env, catalog.eventId, ['t-13'])).get('t-13') as string
    expect((await reserve(lost, { scheduleId, seatId: seat(13) })).statusCode).toBe(409)
    const after = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body)
    expect(counted(after, 'TOKEN_INVALID')).toBe(counted(before, 'TOKEN_INVALID'))
    expect(counted(after, 'SEAT_ALREADY_RESERVED')).toBe(counted(before, 'SEAT_ALREADY_RESERVED') + 1)
  })
})

describe('QUEUE_TOKEN is the backstop behind the Redis claim', () => {
  /*
   * A token whose payment committed while its finish in Redis was lost (Redis still says
   * READY): the payment's one read under the account lock (payment-checks) finds
   * COMPLETED in QUEUE_TOKEN and refuses, and the transaction takes nothing. In the
   * second case the COMPLETED is committed while the payment waits for the account row,
   * as a parallel payment with the same token would: the read after the lock sees it.
   */
  const paidInMysqlOnly = async (token: string) => {
    const followed = await fastQueue(env).follow(token)
    if (!followed) throw new Error('no such token')
    await env.db.transaction().execute((trx) => markTokenCompleted(trx, followed.state, new Date()))
  }
  const balanceOf = (id: string) => accountBalance(env.db, id)

  it('refuses a token QUEUE_TOKEN says paid, whatever Redis says, and takes nothing', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['t-16'])).get('t-16') as string
    await paidInMysqlOnly(token)
    const before = await balanceOf('t-16')
    const refused = await reserve(token, { scheduleId, seatId: seat(20) })
    expect(refused.statusCode).toBe(401)
    expect(refused.json()).toMatchObject({ code: 'TOKEN_EXPIRED', detail: 'queue token expired (COMPLETED)' })
    expect(await balanceOf('t-16')).toBe(before)
    // The refusal brought Redis to the row: the token ended, COMPLETED, its READY slot freed.
    const keys = app.queue.keys(catalog.eventId)
    expect(await readTokenState(env.redis, keys, token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'COMPLETED',
    })
    expect(await env.redis.zscore(keys.active, token)).toBeNull()
    // The seat was let go: another fan buys it at once.
    const other = (await readyTokens(env, catalog.eventId, ['t-17'])).get('t-17') as string
    expect((await reserve(other, { scheduleId, seatId: seat(20) })).statusCode).toBe(201)
    await expectInvariants(env)
  })

  /**
   * Copy A reaches Redis through a proxy and renews its claim every 100 ms (TTL 300 ms).
   * Its payment (`first`) waits for the account row; then its link to Redis is cut, the
   * claim and the seat lock lapse, and this copy sends `second` with the same token, which
   * claims it and waits for the row too. Then the row is let go: both are in their
   * transactions. Returns both answers, copy A's first.
   */
  async function lapsedClaimRace(
    account: string,
    token: string,
    first: { body: Record<string, unknown>; headers?: Record<string, string> },
    second: { body: Record<string, unknown>; headers?: Record<string, string> },
  ) {
    const { proxy: link, url: redisViaLink } = await startRedisProxy(env.redisUrl)
    const copyA = await buildBooking(env, {
      REDIS_URL: redisViaLink,
      CLAIM_TTL_MS: '300',
      SEAT_LOCK_TTL_MS: '300',
    })
    try {
      const hold = await holdAccountRow(env, account)
      let answerA: ReturnType<typeof reserve> | undefined
      let answerB: ReturnType<typeof reserve> | undefined
      try {
        answerA = reserveOn(copyA, token, first.body, first.headers)
        await until(
          async () => (await lockWaiters(env)) === 1,
          'copy A’s payment to wait for the account row',
        )
        link.cut()
        await new Promise((resolve) => setTimeout(resolve, 900)) // three claim TTLs, not renewed
        answerB = reserve(token, second.body, second.headers)
        await until(
          async () => (await lockWaiters(env)) === 2,
          'the second payment to wait for the account row',
        )
      } finally {
        await hold.release()
      }
      return await Promise.all([answerA, answerB])
    } finally {
      link.restore()
      await copyA.close()
      await link.close()
    }
  }

  it('two payments with one token at once, the first one’s claim lapsed (its copy lost Redis): exactly one pays', async () => {
    // Both are in their transactions when the row is let go, for two different seats (so
    // the UNIQUE seat key cannot stop the second): only QUEUE_TOKEN does.
    const token = (await readyTokens(env, catalog.eventId, ['t-19'])).get('t-19') as string
    const before = await balanceOf('t-19')
    const answers = await lapsedClaimRace(
      't-19',
      token,
      { body: { scheduleId, seatId: seat(22) } },
      { body: { scheduleId, seatId: seat(23) } },
    )
    const statuses = answers.map((answer) => answer?.statusCode).sort()
    expect(statuses).toEqual([201, 401])
    const refused = answers.find((answer) => answer?.statusCode === 401)
    expect(refused?.json()).toMatchObject({
      code: 'TOKEN_EXPIRED',
      detail: 'queue token expired (COMPLETED)',
    })
    const paid = answers.find((answer) => answer?.statusCode === 201)?.json() as { price: number }
    expect(await balanceOf('t-19')).toBe(before - paid.price)
    const sold = await env.db
      .selectFrom('RESERVATION')
      .select('account_id')
      .where('seat_id', 'in', [seat(22), seat(23)])
      .execute()
    expect(sold).toEqual([{ account_id: 't-19' }])
    await expectInvariants(env)
  })

  /** The price of a seat of the show (its venue seat's type, at this event). */
  async function priceOf(seatId: number): Promise<number> {
    const row = await env.db
      .selectFrom('VENUE_SEAT as vs')
      .innerJoin('SEAT_PRICE as sp', 'sp.seat_type', 'vs.seat_type')
      .select('sp.price')
      .where('vs.id', '=', seatId)
      .where('sp.event_id', '=', catalog.eventId)
      .executeTakeFirstOrThrow()
    return row.price
  }

  it.each([
    { balance: 'for many orders', account: 't-21', seatIndex: 25 },
    { balance: 'for this order alone', account: 'exact-1', seatIndex: 26 },
  ])(
    'a retry with the same Idempotency-Key that overtook the first attempt’s lapsed claim gets the first answer, charged once (a balance $balance)',
    async ({ account, seatIndex }) => {
      // As above, but B is the client's retry of A's order (same seat, same key): when A
      // commits first, B finds the token paid (or, with a balance for one order, the money
      // gone); its answer is A's, not 401 or 402, and Redis is told the token paid.
      if (account.startsWith('exact'))
        await insertAccounts(env.db, 1, { prefix: 'exact', balance: await priceOf(seat(seatIndex)) })
      const token = (await readyTokens(env, catalog.eventId, [account])).get(account) as string
      const before = await balanceOf(account)
      const retryOfTheSameOrder = {
        body: { scheduleId, seatId: seat(seatIndex) },
        headers: { 'idempotency-key': `retry-after-a-lapsed-claim-${account}` },
      }
      const answers = await lapsedClaimRace(account, token, retryOfTheSameOrder, retryOfTheSameOrder)
      expect(answers.map((answer) => answer?.statusCode)).toEqual([201, 201])
      const [a, b] = answers.map((answer) => answer?.json()) as [
        Record<string, unknown>,
        Record<string, unknown>,
      ]
      expect(b).toEqual(a)
      expect(answers.filter((answer) => answer?.headers['idempotent-replayed'] === 'true')).toHaveLength(1)
      expect(await balanceOf(account)).toBe(before - (a.price as number))
      const sold = await env.db
        .selectFrom('RESERVATION')
        .select('account_id')
        .where('seat_id', '=', seat(seatIndex))
        .execute()
      expect(sold).toEqual([{ account_id: account }])
      // The replaying copy told Redis: the token paid, its READY slot free.
      const keys = app.queue.keys(catalog.eventId)
      expect(await readTokenState(env.redis, keys, token)).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
      })
      expect(await env.redis.zscore(keys.active, token)).toBeNull()
      await expectInvariants(env)
    },
  )

  it('a COMPLETED committed while the payment waits for the account row is seen after it', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['t-18'])).get('t-18') as string
    const before = await balanceOf('t-18')
    const hold = await holdAccountRow(env, 't-18')
    let pending: ReturnType<typeof reserve> | undefined
    try {
      pending = reserve(token, { scheduleId, seatId: seat(21) })
      await until(async () => (await lockWaiters(env)) === 1, 'the payment to wait for the account row')
      await paidInMysqlOnly(token)
    } finally {
      await hold.release()
    }
    const refused = await pending
    expect(refused?.statusCode).toBe(401)
    expect(refused?.json()).toMatchObject({
      code: 'TOKEN_EXPIRED',
      detail: 'queue token expired (COMPLETED)',
    })
    expect(await balanceOf('t-18')).toBe(before)
    const sold = await env.db.selectFrom('RESERVATION').select('id').where('seat_id', '=', seat(21)).execute()
    expect(sold).toEqual([])
    await expectInvariants(env)
  })
})

describe('POST /v1/reservations with MySQL cut off', () => {
  it('refuses every bad token from Redis alone, before any fault of the request, without opening a MySQL connection', async () => {
    const { proxy, url } = await startMysqlProxy(env.mysqlUrl)
    const cutOff = await buildBooking(env, { MYSQL_URL: url }, { poolSize: 1 })
    try {
      // A purchase first, so this copy has the show's facts cached.
      const buyer = (await readyTokens(env, catalog.eventId, ['t-15'])).get('t-15') as string
      expect((await reserveOn(cutOff, buyer, { scheduleId, seatId: seat(17) })).statusCode).toBe(201)
      // Joined last, so no admission makes it READY (an admission not yet in MySQL would be a 503 here).
      const waiting = (await fastQueue(env).join(catalog.eventId, 't-14')).ticket.token
      proxy.cut()
      const opened = proxy.accepted
      const cases: Array<[string, Record<string, unknown>, number, string]> = [
        ['garbage', { scheduleId: 424_242, seatId: 1 }, 401, 'TOKEN_INVALID'],
        [
          `${catalog.eventId}.AAAAAAAAAAAAAAAAAAAAAA`,
          { scheduleId: 424_242, seatId: 1 },
          401,
          'TOKEN_INVALID',
        ],
        [waiting, { scheduleId: 424_242, seatId: 1 }, 403, 'TOKEN_NOT_READY'],
        [waiting, { scheduleId, seatId: seat(18) }, 403, 'TOKEN_NOT_READY'],
        [waiting, { scheduleId, seatId: 999_999 }, 403, 'TOKEN_NOT_READY'],
        [waiting, tooMany(), 403, 'TOKEN_NOT_READY'],
      ]
      for (const [token, body, status, code] of cases) {
        const response = await reserveOn(cutOff, token, body)
        expect({ body, status: response.statusCode, code: response.json().code }).toEqual({
          body,
          status,
          code,
        })
      }
      expect(proxy.accepted).toBe(opened)
    } finally {
      proxy.restore()
      await cutOff.close()
      await proxy.close()
    }
  })
})
