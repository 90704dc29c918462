import type { App } from '@concert/http'
import { joinArgs, newToken, Reply } from '@concert/queue'
import { makeQueue, openSaleAt, readTokenState } from '@concert/queue/testing'
import {
  createEvent,
  insertAccounts,
  parseMetrics,
  sampleValue,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway } from './helpers.js'

/*
 * One admission loop ticks every event of a copy, one after the other. An event whose
 * tick fails, or whose pre-queue draw takes seconds, must not hold back the others: every
 * copy runs the same list in the same order, so before, a failing event stopped admission
 * for every event after it everywhere, and a copy drawing a large pre-queue admitted
 * nobody else until the draw was done. The large pre-queue gets this file a Redis of its own.
 */

const env = useTestEnv({ privateRedis: true })
let gateway: App | undefined

beforeAll(async () => {
  await seedCatalog(env.db)
})
afterAll(async () => {
  await gateway?.close()
})

/** A counter's value in the gateway's /metrics (0 when it has no such series yet). */
async function counter(app: App, name: string, labels: Record<string, string>): Promise<number> {
  const metrics = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body)
  return sampleValue(metrics.get(name), labels) ?? 0
}

describe('the admission loop, one event apart from another', () => {
  it('admits an event listed after one whose ticks fail, and after one whose large pre-queue is being drawn', async () => {
    const { queue } = makeQueue(env)
    const fans = await insertAccounts(env.db, 3, { prefix: 'apart' })
    // Listed first (lower id): its admission script fails on every tick (a damaged key).
    const broken = await createEvent(env.db, 'broken')
    const drawing = await createEvent(env.db, 'large pre-queue')
    const open = await createEvent(env.db, 'open')
    await queue.join(broken, fans[0] as string)
    await env.redis.set(queue.keys(broken).bucket, 'not a hash')

    // 30,000 fans in a pre-queue, joined by script (their rows are written by the draw).
    const pre = queue.keys(drawing)
    await openSaleAt(env, queue, drawing, new Date(Date.now() + 600_000))
    expect((await queue.join(drawing, fans[1] as string)).created).toBe(true)
    for (let start = 0; start < 30_000; start += 5_000) {
      const pipeline = env.redis.pipeline()
      for (let i = start; i < start + 5_000; i += 1) {
        pipeline.queueJoin(...joinArgs(pre, newToken(drawing), `apart-pre-${i}`, 1_000_000_000))
      }
      const replies = (await pipeline.exec()) ?? []
      expect(replies.every(([error, reply]) => !error && (reply as unknown[])[0] === Reply.CREATED)).toBe(
        true,
      )
    }

    gateway = await buildGateway(env, { QUEUE_ADMIT_INTERVAL_MS: '50' }, { workers: true })
    await openSaleAt(env, queue, drawing, new Date(Date.now() - 1_000))
    // The gateway's tick has started the draw (it holds the draw lock, nothing drawn yet).
    await waitFor(async () => (await env.redis.exists(pre.drawing)) === 1, 'the draw started')
    const waiting = (await queue.join(open, fans[2] as string)).ticket.token
    await waitFor(
      async () => (await readTokenState(env.redis, queue.keys(open), waiting))?.status === 'READY',
      'the open event admitted its fan',
    )
    // Admitted while the draw still runs: the tick did not wait for it.
    expect(await env.redis.hget(pre.sale, 'drawn')).toBeNull()
    expect(await counter(gateway, 'queue_loop_tick_failures_total', { loop: 'admission' })).toBeGreaterThan(0)

    await waitFor(async () => (await env.redis.hget(pre.sale, 'drawn')) === '1', 'the draw ended', 60_000)
    await waitFor(
      async () =>
        (await counter(gateway as App, 'queue_prequeue_drawn_total', { event: String(drawing) })) === 30_001,
      'the draw counted',
    )
    // Admission of the drawn event starts once its draw has ended.
    await waitFor(async () => (await env.redis.zcard(pre.active)) > 0, 'the drawn event admitting')
  }, 120_000)
})
