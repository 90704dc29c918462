import { createDbWithPool } from '@concert/db'
import {
  createEvent,
  insertAccounts,
  seedCatalog,
  startMysqlProxy,
  type TcpProxy,
  tokenRowStatuses,
  useTestEnv,
  waitFor,
  whileTokenRowsRefused,
} from '@concert/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { markDurable } from '../src/durable-tickets.js'
import {
  completedVersion,
  F,
  MirrorWorker,
  markTokenCompleted,
  QueueService,
  type Ticket,
  type TokenState,
} from '../src/index.js'
import { instantAdmission, readTokenState } from '../src/testing.js'
import { makeQueue, sleep } from './helpers.js'

/*
 * "Same for any state a fan has been told about that recovery could otherwise undo"
 * (issue 8): no mirror runs in this file, so every admission, expiry and leave is
 * held by Redis alone until something writes it. A fan is only told such a state
 * once its QUEUE_TOKEN row says so; a FLUSHALL right after then gives every fan
 * back exactly what it was told. What nobody was told may fall back (an admission
 * no one saw returns the fan to the head of the line, to be admitted again).
 */

// A private redis-server: this file FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
let eventId: number
let accounts: string[]
/** A pool on a port where no MySQL listens: a database that cannot take any write. */
let deadDb: ReturnType<typeof createDbWithPool>
/** MySQL through a proxy the test can cut, for a mirror whose batch fails. */
let proxy: TcpProxy
let proxiedDb: ReturnType<typeof createDbWithPool>

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 40, { prefix: 'told' })
  deadDb = createDbWithPool({ url: 'mysql://root@127.0.0.1:9/none', poolSize: 1 })
  const viaProxy = await startMysqlProxy(env.mysqlUrl)
  proxy = viaProxy.proxy
  proxiedDb = createDbWithPool({ url: viaProxy.url, poolSize: 1 })
})
afterAll(async () => {
  proxy?.restore()
  await deadDb?.db.destroy()
  await proxiedDb?.db.destroy()
  await proxy?.close()
})
// An event of its own per test: no tokens left over from another.
beforeEach(async (context) => {
  eventId = await createEvent(env.db, context.task.name.slice(0, 40))
})

let next = 0
const freshAccounts = (n: number) => {
  next += n
  return accounts.slice(next - n, next)
}

async function rowOf(token: string) {
  return env.db
    .selectFrom('QUEUE_TOKEN')
    .select(['status', 'reason', 'expires_at', 'version'])
    .where('token', '=', token)
    .executeTakeFirst()
}

const unmirrored = (queue: QueueService, token: string) =>
  env.redis.hexists(queue.keys(eventId).token(token), F.unmirrored)

/** What a fan was told: the fields a Redis loss must not change. */
const told = (ticket: Ticket | undefined) => ({
  status: ticket?.status,
  reason: ticket?.reason,
  readyAt: ticket?.readyAt,
  expiresAt: ticket?.expiresAt,
})

/** Admission ticks until `n` more were admitted (the token bucket fills over a few ticks). */
async function admit(queue: QueueService, n: number): Promise<void> {
  let admitted = 0
  for (let tick = 0; tick < 100 && admitted < n; tick += 1) {
    admitted += (await queue.admit(eventId)).admitted
    if (admitted < n) await sleep(10)
  }
  expect(admitted).toBe(n)
}

async function joinAll(queue: QueueService, ids: string[]): Promise<string[]> {
  const tokens: string[] = []
  for (const id of ids) tokens.push((await queue.join(eventId, id)).ticket.token)
  return tokens
}

describe('a state a fan was told survives a Redis loss, with no mirror running', () => {
  it('admissions: a polled READY is in MySQL when answered and READY after FLUSHALL; an unseen one is not', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const tokens = await joinAll(queue, freshAccounts(8))
    await admit(queue, 8)
    // Held by Redis alone: marked unmirrored, and MySQL still says WAITING.
    for (const token of tokens) {
      expect(await unmirrored(queue, token)).toBe(1)
      expect((await rowOf(token))?.status).toBe('WAITING')
    }

    const polled = tokens.slice(0, 4)
    const unseen = tokens.slice(4)
    const before = new Map<string, Ticket | undefined>()
    for (const token of polled) {
      const ticket = await queue.get(token)
      expect(ticket?.status).toBe('READY')
      // Written before the answer, and the mark gone.
      const row = await rowOf(token)
      expect(row?.status).toBe('READY')
      expect(row?.expires_at?.toISOString()).toBe(ticket?.expiresAt)
      expect(await unmirrored(queue, token)).toBe(0)
      before.set(token, ticket)
    }
    for (const token of unseen) expect((await rowOf(token))?.status).toBe('WAITING')

    await env.redis.flushall()
    for (const token of polled) expect(told(await queue.get(token))).toEqual(told(before.get(token)))
    // Never told READY: back at the head of the line, in their order.
    const positions = []
    for (const token of unseen) {
      const ticket = await queue.get(token)
      expect(ticket?.status).toBe('WAITING')
      positions.push(ticket?.position)
    }
    expect(positions).toEqual([1, 2, 3, 4])
  })

  it('a leave is in MySQL when answered, and still LEFT after FLUSHALL', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    // One leaves while READY (admitted, not yet mirrored), one while WAITING (no tick since it joined).
    const [ready] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    const [waiting] = (await joinAll(queue, freshAccounts(1))) as [string]
    for (const token of [ready, waiting]) {
      expect(await queue.leave(token)).toBe('LEFT')
      expect(await rowOf(token)).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
      expect(await unmirrored(queue, token)).toBe(0)
    }

    await env.redis.flushall()
    for (const token of [ready, waiting]) {
      const ticket = await queue.get(token)
      expect(told(ticket)).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
    }
  })

  it('an expiry is in MySQL when answered, and still EXPIRED (TIMEOUT) after FLUSHALL', async () => {
    const { queue } = makeQueue(env, { ...instantAdmission, activeTtlSeconds: 0.2 })
    const [token] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    await sleep(250)
    expect((await queue.admit(eventId)).timedOut).toBeGreaterThanOrEqual(1)
    expect((await rowOf(token))?.status).not.toBe('EXPIRED')
    const ticket = await queue.get(token)
    expect(told(ticket)).toMatchObject({ status: 'EXPIRED', reason: 'TIMEOUT' })
    expect(await rowOf(token)).toMatchObject({ status: 'EXPIRED', reason: 'TIMEOUT' })

    await env.redis.flushall()
    expect(told(await queue.get(token))).toEqual(told(ticket))
  })

  it('the booking side too: verify and a payment start write an unmirrored admission first', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const [viaVerify, viaClaim] = (await joinAll(queue, freshAccounts(2))) as [string, string]
    await admit(queue, 2)
    expect((await rowOf(viaVerify))?.status).toBe('WAITING')
    const verified = await queue.verify(viaVerify)
    expect(verified.found && verified.state.status).toBe('READY')
    expect((await rowOf(viaVerify))?.status).toBe('READY')

    // No read before: the claim itself finds the mark, writes the admission, then claims.
    expect((await rowOf(viaClaim))?.status).toBe('WAITING')
    const claim = await queue.claim(viaClaim, 'attempt-1', 5_000)
    expect(claim.ok).toBe(true)
    expect((await rowOf(viaClaim))?.status).toBe('READY')
    expect(await queue.releaseClaim(viaClaim, 'attempt-1')).toBe(true)
  })

  it('a payment writes its token COMPLETED itself: not handed to the mirror again, unless the token changed while it paid', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const [paid, leftMidPayment, bumped] = (await joinAll(queue, freshAccounts(3))) as [
      string,
      string,
      string,
    ]
    await admit(queue, 3)
    const stream = queue.keys(eventId).stream
    /** What reservation.service does: claim, commit the COMPLETED row, then finish in Redis. */
    const claim = async (token: string, owner: string): Promise<TokenState> => {
      const claimed = await queue.claim(token, owner, 5_000)
      if (!claimed.ok) throw new Error(`claim refused: ${claimed.reason}`)
      return claimed.state
    }
    const pay = async (token: string, owner: string, claimed: TokenState, completedAt: Date) => {
      await env.db.transaction().execute((trx) => markTokenCompleted(trx, claimed, completedAt))
      return queue.finishPurchase(token, owner, completedAt, undefined, undefined, completedVersion(claimed))
    }

    const claimed = await claim(paid, 'pay-1')
    const records = await env.redis.xlen(stream)
    const completedAt = new Date()
    expect(await pay(paid, 'pay-1', claimed, completedAt)).toBe(true)
    // Durable already: no record for the mirror, no unmirrored mark, Redis at the row's version.
    expect(await env.redis.xlen(stream)).toBe(records)
    expect(await unmirrored(queue, paid)).toBe(0)
    const row = await rowOf(paid)
    expect(row).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED', expires_at: completedAt })
    expect((await readTokenState(env.redis, queue.keys(eventId), paid))?.version).toBe(row?.version)
    const ticket = await queue.get(paid)
    expect(told(ticket)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })

    // The fan left while paying (LEFT, at the claimed version + 1): the payment still
    // commits COMPLETED at that version, and Redis, one change further on, mirrors its own.
    const claimedToo = await claim(leftMidPayment, 'pay-2')
    expect(await queue.leave(leftMidPayment)).toBe('LEFT')
    const before = await env.redis.xlen(stream)
    expect(await pay(leftMidPayment, 'pay-2', claimedToo, new Date())).toBe(true)
    expect(await env.redis.xlen(stream)).toBe(before + 1)
    expect(await unmirrored(queue, leftMidPayment)).toBe(1)
    expect((await readTokenState(env.redis, queue.keys(eventId), leftMidPayment))?.version).toBe(
      completedVersion(claimedToo) + 1,
    )

    // Still READY but at another version than the one claimed (a change this test makes
    // by hand): the committed version is not where Redis lands, so the change is mirrored.
    const claimedThird = await claim(bumped, 'pay-3')
    await env.redis.hincrby(queue.keys(eventId).token(bumped), F.version, 1)
    const beforeThird = await env.redis.xlen(stream)
    expect(await pay(bumped, 'pay-3', claimedThird, new Date())).toBe(true)
    expect(await env.redis.xlen(stream)).toBe(beforeThird + 1)
    expect(await unmirrored(queue, bumped)).toBe(1)

    // The admission's record of the paid token is still in the stream, behind the payment:
    // the mirror writing it (and the two mirrored COMPLETED states) now takes no row back
    // from COMPLETED, and every row ends at its token's version in Redis.
    const recordsOf = async (token: string) =>
      (await env.redis.xrange(stream, '-', '+')).filter(([, fields]) => fields.includes(token)).length
    expect(await recordsOf(paid)).toBe(1)
    const mirror = new MirrorWorker({
      redis: env.redis,
      db: env.db,
      prefix: env.keyPrefix,
      consumer: 'after-the-payments',
      batchSize: 100,
      claimIdleMs: 60_000,
    })
    await mirror.drain(eventId)
    for (const token of [paid, leftMidPayment, bumped]) {
      const version = (await readTokenState(env.redis, queue.keys(eventId), token))?.version
      expect(await rowOf(token)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED', version })
    }

    await env.redis.flushall()
    expect(told(await queue.get(paid))).toEqual(told(ticket))
    for (const token of [leftMidPayment, bumped])
      expect(told(await queue.get(token))).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
  })

  it('a payment that commits after its claim was taken over, or after a rebuild, still ends its token COMPLETED and frees its slot', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const k = queue.keys(eventId)
    const [takenOver, rebuilt] = (await joinAll(queue, freshAccounts(2))) as [string, string]
    await admit(queue, 2)
    const claim = async (token: string, owner: string, ttlMs: number): Promise<TokenState> => {
      const claimed = await queue.claim(token, owner, ttlMs)
      if (!claimed.ok) throw new Error(`claim refused: ${claimed.reason}`)
      return claimed.state
    }
    /** What reservation.service does after its claim: commit the COMPLETED row, then finish in Redis. */
    const pay = async (token: string, owner: string, claimed: TokenState, completedAt: Date) => {
      await env.db.transaction().execute((trx) => markTokenCompleted(trx, claimed, completedAt))
      return queue.finishPurchase(token, owner, completedAt, undefined, undefined, completedVersion(claimed))
    }
    /** Redis and QUEUE_TOKEN agree: COMPLETED at the commit time and the committed version, no slot held. */
    const expectCompleted = async (token: string, claimed: TokenState, completedAt: Date) => {
      const row = await rowOf(token)
      expect(row).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
        expires_at: completedAt,
        version: completedVersion(claimed),
      })
      expect(await readTokenState(env.redis, k, token)).toMatchObject({
        status: 'EXPIRED',
        reason: 'COMPLETED',
        version: completedVersion(claimed),
      })
      expect(await env.redis.zscore(k.active, token)).toBeNull()
      expect(await unmirrored(queue, token)).toBe(0)
    }

    // The first attempt's claim lapses while its transaction runs; a retry takes it over.
    const slow = await claim(takenOver, 'slow', 30)
    await sleep(60)
    await claim(takenOver, 'retry', 5_000)
    const records = await env.redis.xlen(k.stream)
    const paidAt = new Date()
    // Not the claim's owner any more, but it paid: the token ends, as the row says.
    expect(await pay(takenOver, 'slow', slow, paidAt)).toBe(false)
    await expectCompleted(takenOver, slow, paidAt)
    expect(await env.redis.xlen(k.stream)).toBe(records)
    // The retry's payment is refused by QUEUE_TOKEN and gives its claim back; nobody can claim again.
    expect(await queue.releaseClaim(takenOver, 'retry')).toBe(true)
    expect(await queue.claim(takenOver, 'third', 5_000)).toEqual({ ok: false, reason: 'EXPIRED' })
    expect(await queue.get(takenOver)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })

    // Redis is lost while a payment runs, and rebuilt from MySQL before it commits: READY, no claim.
    const claimed = await claim(rebuilt, 'paying', 5_000)
    await env.redis.flushall()
    expect(await queue.get(rebuilt)).toMatchObject({ status: 'READY' })
    expect(await env.redis.zscore(k.active, rebuilt)).not.toBeNull()
    const committedAt = new Date()
    expect(await pay(rebuilt, 'paying', claimed, committedAt)).toBe(false)
    await expectCompleted(rebuilt, claimed, committedAt)
    expect(await queue.get(rebuilt)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })

    // Redis is lost while a payment runs, and its finish comes before the rebuild's marker,
    // while the rebuild reads QUEUE_TOKEN from before the commit (READY): the finish waits
    // for the rebuild and ends the token then (it used to give up, and the rebuild brought
    // the paid token back READY, holding a slot).
    const [midRebuild] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    const paying = await claim(midRebuild, 'paying', 5_000)
    await env.redis.flushall()
    const finishedAt = new Date()
    expect(
      await queue.finishPurchase(
        midRebuild,
        'paying',
        finishedAt,
        undefined,
        undefined,
        completedVersion(paying),
      ),
    ).toBe(false)
    expect(await queue.get(midRebuild)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    await env.db.transaction().execute((trx) => markTokenCompleted(trx, paying, finishedAt))
    await expectCompleted(midRebuild, paying, finishedAt)

    // Without the committed version (nothing says a payment committed), only the owner ends a token.
    const [other] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    await claim(other, 'owner', 5_000)
    expect(await queue.complete(other, 'stranger', new Date())).toBe(false)
    expect(await readTokenState(env.redis, k, other)).toMatchObject({ status: 'READY' })
  })

  it('while MySQL cannot take the write, an unmirrored READY is never told (the read fails) but a WAITING place is', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const [admitted] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    // A second copy of the service whose MySQL is unreachable.
    const cutOff = new QueueService({
      redis: env.redis,
      db: deadDb.db,
      prefix: env.keyPrefix,
      settings: queue.settings,
    })
    // Refused as 503 SERVICE_UNAVAILABLE with Retry-After, whatever MySQL's error was.
    const unavailable = { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 }
    await expect(cutOff.get(admitted)).rejects.toMatchObject(unavailable)
    await expect(cutOff.verify(admitted)).rejects.toMatchObject(unavailable)
    await expect(cutOff.claim(admitted, 'attempt-x', 5_000)).rejects.toMatchObject(unavailable)
    await expect(cutOff.leave(admitted)).rejects.toMatchObject(unavailable)
    expect(await unmirrored(queue, admitted)).toBe(1)
    expect((await rowOf(admitted))?.status).toBe('WAITING')

    // No tick since it joined: a WAITING place, durable since its join, is told at once.
    const [waiter] = (await joinAll(queue, freshAccounts(1))) as [string]
    expect((await cutOff.get(waiter))?.status).toBe('WAITING')
  })

  it('a join whose row MySQL refuses (any error, not only a lost connection) is answered 503, then 200 once it can', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const [refused, other] = freshAccounts(2) as [string, string]
    // MySQL refuses this account's row with an error of its own (not a connection or lock error).
    await whileTokenRowsRefused(env.db, { accountId: refused }, async () => {
      await expect(queue.join(eventId, refused)).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        retryAfter: 1,
      })
      // Nothing was acknowledged or written; another fan's join is not held back.
      const rows = await env.db
        .selectFrom('QUEUE_TOKEN')
        .select('token')
        .where('event_id', '=', eventId)
        .where('account_id', '=', refused)
        .execute()
      expect(rows).toEqual([])
      expect((await queue.join(eventId, other)).created).toBe(true)
    })
    // Joining again returns the ticket Redis kept, now durable.
    const again = await queue.join(eventId, refused)
    expect(again.created).toBe(false)
    expect((await rowOf(again.ticket.token))?.status).toBe('WAITING')
  })

  it('the mark is cleared only for the committed version, in the current epoch', async () => {
    const { queue } = makeQueue(env, { ...instantAdmission, activeTtlSeconds: 0.2 })
    const k = queue.keys(eventId)
    const [token] = (await joinAll(queue, freshAccounts(1))) as [string]
    await admit(queue, 1)
    const admitted = (await readTokenState(env.redis, k, token)) as NonNullable<
      Awaited<ReturnType<typeof readTokenState>>
    >
    const epoch = Number(await env.redis.get(k.marker))
    await sleep(250)
    expect((await queue.admit(eventId)).timedOut).toBe(1)
    // Changed again (EXPIRED, one version on): the READY record's commit leaves the mark.
    await markDurable(env.redis, k, epoch, [admitted])
    expect(await unmirrored(queue, token)).toBe(1)
    const expired = { ...admitted, status: 'EXPIRED' as const, version: admitted.version + 1 }
    // A commit in an epoch that has ended clears nothing.
    await markDurable(env.redis, k, epoch - 1, [expired])
    expect(await unmirrored(queue, token)).toBe(1)
    await markDurable(env.redis, k, epoch, [expired])
    expect(await unmirrored(queue, token)).toBe(0)
  })

  it('a failed mirror batch whose entries were deleted meanwhile is acknowledged, and the rest still written', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const k = queue.keys(eventId)
    const tokens = await joinAll(queue, freshAccounts(4))
    await admit(queue, 4)
    // Only the admissions are left to mirror (each join deleted its own entry once written).
    await waitFor(
      async () => (await env.redis.xlen(k.stream)) === 4,
      'the joins deleted their entries',
      5_000,
    )
    const entries = (await env.redis.xrange(k.stream, '-', '+')).map(([id]) => id)
    expect(entries).toHaveLength(4)
    const mirror = new MirrorWorker({
      redis: env.redis,
      db: proxiedDb.db,
      prefix: env.keyPrefix,
      consumer: 'retrying',
      batchSize: 2,
      claimIdleMs: 60_000,
    })
    proxy.cut()
    await expect(mirror.pump(eventId)).rejects.toThrow()
    proxy.restore()
    // The other two become this consumer's too (as a dead copy's would), then the first two
    // are deleted, as a join deletes its entry once its own write committed.
    await env.redis.xreadgroup('GROUP', 'mirror', 'gone-copy', 'COUNT', 2, 'STREAMS', k.stream, '>')
    expect(await env.redis.xclaim(k.stream, 'mirror', 'retrying', 0, ...entries.slice(2))).toHaveLength(2)
    await env.redis.xdel(k.stream, ...entries.slice(0, 2))
    expect(await mirror.pump(eventId)).toBe(2)
    const pending = (await env.redis.xpending(k.stream, 'mirror')) as [number, ...unknown[]]
    expect(pending[0]).toBe(0)
    const rows = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['token', 'status'])
      .where('token', 'in', tokens.slice(2))
      .execute()
    expect(rows.map((row) => row.status)).toEqual(['READY', 'READY'])
  })

  it('a mirrored state MySQL refuses for good is left out; the rest of its batch and the next batches are written', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const k = queue.keys(eventId)
    const fans = freshAccounts(5)
    const tokens = await joinAll(queue, fans)
    await admit(queue, 5)
    // Only the admissions are left to mirror (each join deleted its own entry once written).
    await waitFor(
      async () => (await env.redis.xlen(k.stream)) === 5,
      'the joins deleted their entries',
      5_000,
    )
    const refused = tokens[2] as string
    const refusals: Array<{ accountId: string; status: string; error: unknown }> = []
    const mirror = new MirrorWorker({
      redis: env.redis,
      db: env.db,
      prefix: env.keyPrefix,
      consumer: 'refusing',
      batchSize: 4,
      onRefused: (state, error) => refusals.push({ accountId: state.accountId, status: state.status, error }),
    })
    await whileTokenRowsRefused(env.db, { token: refused, status: 'READY' }, async () => {
      // The first batch (four entries, one refused), then the fifth: none is held back.
      expect(await mirror.pump(eventId)).toBe(4)
      expect(await mirror.pump(eventId)).toBe(1)
      expect(await mirror.pump(eventId)).toBe(0)
    })
    expect(mirror.refusedTotal).toBe(1)
    expect(refusals).toEqual([
      { accountId: fans[2], status: 'READY', error: expect.objectContaining({ sqlState: '45000' }) },
    ])
    expect(await env.redis.xlen(k.stream)).toBe(0)
    const pending = (await env.redis.xpending(k.stream, 'mirror')) as [number, ...unknown[]]
    expect(pending[0]).toBe(0)
    expect(await tokenRowStatuses(env.db, tokens)).toEqual(
      tokens.map((token) => (token === refused ? 'WAITING' : 'READY')),
    )
    // Redis still holds the admission, unmirrored: it is written before anyone is told it.
    expect(await unmirrored(queue, refused)).toBe(1)
    expect((await queue.get(refused))?.status).toBe('READY')
    expect((await rowOf(refused))?.status).toBe('READY')
  })
})
