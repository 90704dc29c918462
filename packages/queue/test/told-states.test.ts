import { createDbWithPool } from '@concert/db'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { F, QueueService, type Ticket } from '../src/index.js'
import { instantAdmission } from '../src/testing.js'
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

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 40, { prefix: 'told' })
  deadDb = createDbWithPool({ url: 'mysql://root@127.0.0.1:9/none', poolSize: 1 })
})
afterAll(async () => {
  await deadDb?.db.destroy()
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
    await expect(cutOff.get(admitted)).rejects.toThrow()
    const verified = cutOff.verify(admitted)
    await expect(verified).rejects.toThrow()
    const claim = cutOff.claim(admitted, 'attempt-x', 5_000)
    await expect(claim).rejects.toThrow()
    expect(await unmirrored(queue, admitted)).toBe(1)
    expect((await rowOf(admitted))?.status).toBe('WAITING')

    // No tick since it joined: a WAITING place, durable since its join, is told at once.
    const [waiter] = (await joinAll(queue, freshAccounts(1))) as [string]
    expect((await cutOff.get(waiter))?.status).toBe('WAITING')
  })
})
