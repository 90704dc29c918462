import {
  createEvent,
  insertAccounts,
  type LocalRedisCluster,
  seedCatalog,
  startLocalRedisCluster,
  useTestEnv,
} from '@concert/testing'
import calculateSlot from 'cluster-key-slot'
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisClient, hashTag, MirrorWorker, QueueService } from '../src/index.js'
import { fastSettings, sleep } from './helpers.js'

// A real three-master Redis Cluster on loopback, started from the machine's redis-server.
const env = useTestEnv()
let cluster: LocalRedisCluster
let redis: Cluster
let events: number[]
let accounts: string[]

beforeAll(async () => {
  cluster = await startLocalRedisCluster(3)
  redis = createRedisClient(cluster.seedUrl, { cluster: true }) as Cluster
  await seedCatalog(env.db)
  events = []
  for (let i = 0; i < 6; i += 1) events.push(await createEvent(env.db, `cluster ${i}`))
  accounts = await insertAccounts(env.db, 30, { prefix: 'cl' })
}, 60_000)

afterAll(async () => {
  redis?.disconnect()
  await cluster?.stop()
})

async function ownerOf(slot: number): Promise<number> {
  const ranges = await redis.cluster('SLOTS')
  const range = ranges.find(([from, to]) => slot >= from && slot <= to)
  return range?.[2]?.[1] ?? -1
}

describe('the queue on a Redis Cluster', () => {
  it('runs every script unchanged, with events spread over several masters', async () => {
    const owners = new Set(await Promise.all(events.map((e) => ownerOf(calculateSlot(hashTag(e))))))
    expect(owners.size).toBeGreaterThan(1)

    const queue = new QueueService({
      redis,
      db: env.db,
      prefix: env.keyPrefix,
      settings: { ...fastSettings, maxActive: 5, admitPerSecond: 1000 },
    })
    const mirror = new MirrorWorker({ redis, db: env.db, prefix: env.keyPrefix, consumer: 'cluster-test' })
    for (const eventId of events) {
      const tokens: string[] = []
      for (const id of accounts.slice(0, 10)) tokens.push((await queue.join(eventId, id)).ticket.token)
      for (let i = 0; i < 5; i += 1) {
        await queue.admit(eventId)
        await sleep(5)
      }
      const tickets = await Promise.all(tokens.map((t) => queue.get(t)))
      expect(tickets.filter((t) => t?.status === 'READY')).toHaveLength(5)
      expect(tickets.filter((t) => t?.status === 'WAITING').map((t) => t?.position)).toEqual([1, 2, 3, 4, 5])

      const ready = tokens[0] as string
      expect((await queue.claim(ready, 'payer', 5_000)).ok).toBe(true)
      expect(await queue.complete(ready, 'payer', new Date())).toBe(true)
      expect(await queue.leave(tokens[9] as string)).toBe('LEFT')
      expect((await queue.verify(tokens[1] as string)).found).toBe(true)
      await mirror.drain(eventId)
      const rows = await env.db
        .selectFrom('QUEUE_TOKEN')
        .selectAll()
        .where('event_id', '=', eventId)
        .execute()
      expect(rows).toHaveLength(10)
      expect(rows.find((r) => r.token === ready)).toMatchObject({ status: 'EXPIRED', reason: 'COMPLETED' })
    }
  })

  it('rebuilds every event from MySQL after the whole cluster lost its data', async () => {
    const queue = new QueueService({ redis, db: env.db, prefix: env.keyPrefix, settings: fastSettings })
    const before = new Map<string, unknown>()
    const rows = await env.db.selectFrom('QUEUE_TOKEN').select(['token']).execute()
    for (const { token } of rows) before.set(token, await queue.get(token, { touch: false }))
    await cluster.flushAll()
    for (const { token } of rows) {
      const after = await queue.get(token, { touch: false })
      const was = before.get(token) as { status: string; position: number; expiresAt: string | null }
      expect(after).toMatchObject({ status: was.status, position: was.position, expiresAt: was.expiresAt })
    }
  })
})
