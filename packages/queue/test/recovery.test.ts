import {
  createEvent,
  holdEpochRow,
  insertAccounts,
  lockWaiters,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { QueueRecovery, QueueService, type Ticket } from '../src/index.js'
import { fastSettings, makeQueue, sleep } from './helpers.js'

// A private redis-server: this file wipes it with FLUSHDB, which is what FLUSHALL
// does to the data of a Redis that serves only this deployment.
const env = useTestEnv({ privateRedis: true })
let eventId: number
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  eventId = await createEvent(env.db, 'recovery')
  accounts = await insertAccounts(env.db, 40, { prefix: 'rec' })
})

describe('recovery after Redis loses its data', () => {
  it('restores WAITING order, READY expiries and EXPIRED answers; old tokens keep working', async () => {
    const recovered: unknown[] = []
    const { mirror } = makeQueue(env)
    const queue = new QueueService({
      redis: env.redis,
      db: env.db,
      prefix: env.keyPrefix,
      settings: { ...fastSettings, maxActive: 5, admitPerSecond: 1000 },
      onRecovered: (summary) => recovered.push(summary),
    })
    const tokens: string[] = []
    for (const id of accounts.slice(0, 30)) tokens.push((await queue.join(eventId, id)).ticket.token)
    for (let i = 0; i < 20; i += 1) {
      await queue.admit(eventId)
      await sleep(10)
    }
    await queue.leave(tokens[10] as string)
    await queue.leave(tokens[0] as string) // a READY one gives its slot back…
    await sleep(10)
    await queue.admit(eventId) // …and the next tick refills it from the head
    await mirror.drain(eventId)

    const before = new Map<string, Ticket>()
    for (const token of tokens) before.set(token, (await queue.get(token, { touch: false })) as Ticket)
    const waitingBefore = tokens.filter((t) => before.get(t)?.status === 'WAITING')
    const readyBefore = tokens.filter((t) => before.get(t)?.status === 'READY')
    expect(readyBefore).toHaveLength(5)
    expect(waitingBefore.length).toBe(23)

    await env.redis.flushdb()

    // The first poll with an old token triggers the rebuild and answers as before.
    const firstWaiter = waitingBefore[0] as string
    expect(await queue.get(firstWaiter)).toMatchObject({ status: 'WAITING', position: 1 })
    // The first entry is the event's first use (nothing to restore), the second the real rebuild.
    expect(recovered).toEqual([
      { eventId, waiting: 0, ready: 0, expired: 0, maxPlace: 0, epoch: 1 },
      { eventId, waiting: 23, ready: 5, expired: 2, maxPlace: 30, epoch: 2 },
    ])

    for (const token of tokens) {
      const after = await queue.get(token, { touch: false })
      const was = before.get(token)
      expect(after).toMatchObject({
        status: was?.status,
        position: was?.position,
        readyAt: was?.readyAt,
        expiresAt: was?.expiresAt,
        reason: was?.reason,
        issuedAt: was?.issuedAt,
      })
    }
    // Relative order of the waiters is exactly the original one.
    expect(await env.redis.zrange(queue.keys(eventId).waiting, 0, -1)).toEqual(waitingBefore)

    // New joins go to the back, and nobody already in the queue can get a second place.
    const late = await queue.join(eventId, accounts[35] as string)
    expect(late.ticket.position).toBe(24)
    const rejoin = await queue.join(eventId, accounts[20] as string)
    expect(rejoin.created).toBe(false)
    expect(rejoin.ticket.token).toBe(tokens[20])

    // The mirror carries on after its stream and group vanished.
    await mirror.drain(eventId)
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .selectAll()
      .where('token', '=', late.ticket.token)
      .executeTakeFirst()
    expect(row).toMatchObject({ status: 'WAITING', position: 31 })
  })

  it('many processes noticing the loss at once rebuild it once', async () => {
    const event = await createEvent(env.db, 'recovery race')
    const { queue, mirror } = makeQueue(env)
    const tokens: string[] = []
    for (const id of accounts.slice(0, 10)) tokens.push((await queue.join(event, id)).ticket.token)
    await mirror.drain(event)
    await env.redis.flushdb()

    const summaries: unknown[] = []
    const processes = Array.from(
      { length: 5 },
      () =>
        new QueueService({
          redis: env.redis,
          db: env.db,
          prefix: env.keyPrefix,
          settings: fastSettings,
          onRecovered: (s) => summaries.push(s),
        }),
    )
    const polls = await Promise.all(
      processes.flatMap((p) => tokens.map((token) => p.get(token, { touch: false }))),
    )
    expect(summaries).toHaveLength(1)
    expect(polls.map((t) => t?.position)).toEqual(processes.flatMap(() => tokens.map((_, i) => i + 1)))
  })

  it('a rebuild whose lock Redis loses midway is taken over at once, not left to a wait for a marker nobody sets', async () => {
    const event = await createEvent(env.db, 'recovery lost lock')
    const { queue, mirror } = makeQueue(env)
    const tokens: string[] = []
    for (const id of accounts.slice(0, 10)) tokens.push((await queue.join(event, id)).ticket.token)
    await mirror.drain(event)
    const keys = queue.keys(event)
    const epochBefore = Number(await env.redis.get(keys.marker))
    await env.redis.flushdb()

    // The rebuild takes its lock, then waits in MySQL to start the next epoch (the test
    // holds the epoch row); meanwhile Redis loses its data again, the lock with it.
    const recovery = new QueueRecovery({
      redis: env.redis,
      db: env.db,
      prefix: env.keyPrefix,
      retentionSeconds: 600,
    })
    let rebuilding: ReturnType<QueueRecovery['recover']> | undefined
    const held = await holdEpochRow(env, event)
    try {
      rebuilding = recovery.recover(event)
      await waitFor(
        async () => (await lockWaiters(env)) === 1 && (await env.redis.exists(keys.recovering)) === 1,
        'the rebuild waiting for the epoch row',
        5_000,
      )
      await env.redis.flushdb()
    } finally {
      await held.release()
    }

    // Its first attempt finds its lock gone and gives up; the same call rebuilds again.
    expect(await rebuilding).toMatchObject({ eventId: event, waiting: 10, epoch: epochBefore + 2 })
    expect(await env.redis.get(keys.marker)).toBe(String(epochBefore + 2))
    const polls = await Promise.all(tokens.map((token) => queue.get(token, { touch: false })))
    expect(polls.map((t) => t?.position)).toEqual(tokens.map((_, i) => i + 1))
  })
})
