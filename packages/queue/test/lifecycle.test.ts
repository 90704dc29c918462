import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadSaleSettings, publishSaleSettings, QueueService, type SaleSettings } from '../src/index.js'
import { admitUntilReady, makeQueue, sleep } from './helpers.js'

const env = useTestEnv()
let eventId: number
let otherEventId: number
let accounts: string[]

beforeAll(async () => {
  ;({ eventId, otherEventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, 40, { prefix: 'life' })
})

const account = (i: number) => accounts[i] as string

describe('queue lifecycle', () => {
  it('joining twice returns the same ticket; another event gets its own', async () => {
    const { queue } = makeQueue(env)
    const first = await queue.join(eventId, account(0))
    const again = await queue.join(eventId, account(0))
    expect(first.created).toBe(true)
    expect(again.created).toBe(false)
    expect(again.ticket.token).toBe(first.ticket.token)
    expect(again.ticket.position).toBe(first.ticket.position)
    const other = await queue.join(otherEventId, account(0))
    expect(other.created).toBe(true)
    expect(other.ticket.token).not.toBe(first.ticket.token)
    expect(other.ticket.token.startsWith(`${otherEventId}.`)).toBe(true)
  })

  it('a waiter that stops polling is dropped as ABANDONED and those behind move up by one', async () => {
    const { queue } = makeQueue(env, { waitingIdleSeconds: 2, maxActive: 1 })
    const event = await createEvent(env.db, 'abandonment')
    // Fill the only READY slot so nobody else is admitted during the test.
    const holder = await queue.join(event, account(10))
    expect(
      await admitUntilReady(queue, event, holder.ticket.token, { attempts: 20, pauseMs: 25 }),
    ).toBeDefined()
    const waiters = []
    for (const i of [11, 12, 13]) waiters.push((await queue.join(event, account(i))).ticket)
    const [quitter, second, third] = waiters
    if (!quitter || !second || !third) throw new Error('joins failed')
    expect([quitter.position, second.position, third.position]).toEqual([1, 2, 3])

    // Only the two behind keep polling, for 3 s (the idle window, 2 s, plus the sweep's
    // eighth of it and a tick); the holder is READY and is never swept as idle.
    const deadline = Date.now() + 3_000
    while (Date.now() < deadline) {
      await queue.get(second.token)
      await queue.get(third.token)
      await queue.admit(event)
      await sleep(200)
    }
    expect(await queue.get(quitter.token, { touch: false })).toMatchObject({
      status: 'EXPIRED',
      reason: 'ABANDONED',
      position: 0,
    })
    expect((await queue.get(second.token))?.position).toBe(1)
    expect((await queue.get(third.token))?.position).toBe(2)
    expect((await queue.get(holder.ticket.token))?.status).toBe('READY')
  })

  it('the idle sweep passes over the queue once per eighth of the idle window, however often and on however many copies admission ticks', async () => {
    // Idle window 16 s: a pass every 2 s; batches of 2 over 6 waiters: a batch due every 667 ms.
    const { queue: first } = makeQueue(env, { waitingIdleSeconds: 16, maxActive: 1 })
    // Two copies of the service, as two gateway copies would tick.
    const copy = () =>
      new QueueService({
        redis: env.redis,
        db: env.db,
        prefix: env.keyPrefix,
        settings: first.settings,
        tuning: { admitBatch: 2 },
      })
    const [a, b] = [copy(), copy()]
    const event = await createEvent(env.db, 'idle sweep pace')
    const holder = await a.join(event, account(30))
    expect(await admitUntilReady(a, event, holder.ticket.token, { attempts: 20, pauseMs: 25 })).toBeDefined()
    for (const i of [31, 32, 33, 34, 35, 36]) await a.join(event, account(i))
    const bucket = a.keys(event).bucket
    const redisNow = async () => {
      const [seconds, micros] = await env.redis.time()
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    }
    const sweepState = async () => {
      const [cursor, at] = await env.redis.hmget(bucket, 'sweep', 'sweepAt')
      return { cursor, at: Number(at) }
    }
    const untilDue = async () => sleep(Math.max(0, (await sweepState()).at - (await redisNow())) + 20)

    await untilDue() // the holder's admission ticks left a due time (an empty queue: a pass)
    const before = await redisNow()
    await a.admit(event)
    const after = await redisNow()
    const swept = await sweepState()
    expect(swept.at).toBeGreaterThanOrEqual(before + 666)
    expect(swept.at).toBeLessThanOrEqual(after + 667)
    // Ticks on either copy before it is due leave the sweep where it is.
    for (let i = 0; i < 10; i += 1) await (i % 2 ? a : b).admit(event)
    expect(await sweepState()).toEqual(swept)
    await untilDue()
    await b.admit(event)
    const next = await sweepState()
    expect(next.cursor).not.toBe(swept.cursor)
    expect(next.at).toBeGreaterThanOrEqual(swept.at + 666)
  })

  it('a sale nobody waited for banks no burst: the first tick after a crowd arrives admits one fan at most, the ones after it at the rate', async () => {
    const { queue } = makeQueue(env, { admitPerSecond: 10, maxActive: 1_000 })
    const event = await createEvent(env.db, 'no banked burst')
    // The last tick before the crowd: OPEN, nobody waiting. The gateway then leaves the
    // event alone until a join wakes it (or its idle recheck), seconds later.
    expect((await queue.admit(event)).waiting).toBe(0)
    await sleep(1_500)
    const crowd = []
    for (let i = 0; i < 20; i += 1) crowd.push((await queue.join(event, account(20 + i))).ticket.token)
    // 1.5 s unticked would have been a second's worth (10) at once.
    expect((await queue.admit(event)).admitted).toBeLessThanOrEqual(1)
    // From that tick on the bucket fills at the rate: the head is admitted within a second.
    expect(
      await admitUntilReady(queue, event, crowd[0] as string, { attempts: 40, pauseMs: 50 }),
    ).toBeDefined()
  })

  it('a paused sale banks nothing either: resumed after seconds, its first tick admits one fan at most', async () => {
    const { queue } = makeQueue(env, { admitPerSecond: 10, maxActive: 1_000 })
    const event = await createEvent(env.db, 'no burst at resume')
    for (let i = 0; i < 5; i += 1) await queue.join(event, account(20 + i))
    await queue.admit(event)
    const keys = queue.keys(event)
    const sale = (await loadSaleSettings(env.db, event)) as SaleSettings
    // The operator pauses (a newer read than any published), a tick sees it, seconds pass, the operator resumes.
    await publishSaleSettings(env.redis, keys, {
      ...sale,
      updatedAt: new Date(Date.now() + 60_000),
      paused: true,
    })
    expect((await queue.admit(event)).state).toBe('PAUSED')
    await sleep(1_500)
    await publishSaleSettings(env.redis, keys, {
      ...sale,
      updatedAt: new Date(Date.now() + 120_000),
      paused: false,
    })
    // 1.5 s paused would have been a second's worth (10) at once.
    const resumed = await queue.admit(event)
    expect(resumed.state).toBe('OPEN')
    expect(resumed.admitted).toBeLessThanOrEqual(1)
  })

  it('a READY token expires after activeTtlSeconds and its slot is refilled from the head', async () => {
    const { queue } = makeQueue(env, { activeTtlSeconds: 1, maxActive: 1, admitPerSecond: 100 })
    const event = await createEvent(env.db, 'ready ttl')
    const first = await queue.join(event, account(20))
    const second = await queue.join(event, account(21))
    const firstReady = await admitUntilReady(queue, event, first.ticket.token, { attempts: 40, pauseMs: 50 })
    expect(firstReady?.status).toBe('READY')
    expect((await queue.get(second.ticket.token))?.status).toBe('WAITING')
    const readyAt = Date.parse(firstReady?.readyAt ?? '')
    expect(Date.parse(firstReady?.expiresAt ?? '') - readyAt).toBe(1_000)

    const secondTicket = await admitUntilReady(queue, event, second.ticket.token, {
      attempts: 60,
      pauseMs: 50,
    })
    expect(secondTicket?.status).toBe('READY')
    expect(await queue.get(first.ticket.token)).toMatchObject({
      status: 'EXPIRED',
      reason: 'TIMEOUT',
      expiresAt: firstReady?.expiresAt,
    })
  })

  it('leaving frees the account to join again at the back', async () => {
    const { queue } = makeQueue(env, { admitPerSecond: 1 })
    const joined = await queue.join(otherEventId, account(30))
    expect(await queue.leave(joined.ticket.token)).toBe('LEFT')
    expect(await queue.leave(joined.ticket.token)).toBe('ALREADY_EXPIRED')
    expect(await queue.get(joined.ticket.token)).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
    const rejoined = await queue.join(otherEventId, account(30))
    expect(rejoined.created).toBe(true)
    expect(rejoined.ticket.token).not.toBe(joined.ticket.token)
  })

  it('unknown and malformed tokens are not found and create no Redis state', async () => {
    const { queue } = makeQueue(env)
    expect(await queue.get('nonsense')).toBeUndefined()
    expect(await queue.get(`${eventId}.ZZZZZZZZZZZZZZZZZZZZZZ`)).toBeUndefined()
    expect(await queue.get('987654.ZZZZZZZZZZZZZZZZZZZZZZ')).toBeUndefined()
    expect(await queue.leave('987654.ZZZZZZZZZZZZZZZZZZZZZZ')).toBe('MISSING')
    expect(await env.redis.keys(`${env.keyPrefix}{q:987654}*`)).toEqual([])
  })
})
