import type { App } from '@concert/http'
import { joinArgs, newToken, Reply } from '@concert/queue'
import { makeQueue, openSaleAt, readTokenState } from '@concert/queue/testing'
import {
  createEvent,
  holdEpochRow,
  insertAccounts,
  parseMetrics,
  sampleValue,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, sleep } from './helpers.js'

/*
 * One admission loop ticks every event of a copy, one after the other. An event whose
 * tick fails, or whose pre-queue draw takes seconds, must not hold back the others: every
 * copy runs the same list in the same order, so before, a failing event stopped admission
 * for every event after it everywhere, and a copy drawing a large pre-queue admitted
 * nobody else until the draw was done. A Redis of its own: the damaged key is no other file's business.
 */

const env = useTestEnv({ privateRedis: true })
let gateway: App

beforeAll(async () => {
  await seedCatalog(env.db)
  // New events join its loop at the next sale change (each test opens a sale), or refresh.
  gateway = await buildGateway(env, { QUEUE_ADMIT_INTERVAL_MS: '50' }, { workers: true })
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
  it('admits an event listed after one whose ticks fail, and after one whose pre-queue draw is still running', async () => {
    const { queue } = makeQueue(env)
    const fans = await insertAccounts(env.db, 3, { prefix: 'apart' })
    // Listed first (lower id): its admission script fails on every tick (a damaged key).
    const broken = await createEvent(env.db, 'broken')
    const drawing = await createEvent(env.db, 'pre-queue')
    const open = await createEvent(env.db, 'open')
    await queue.join(broken, fans[0] as string)
    await env.redis.set(queue.keys(broken).bucket, 'not a hash')

    // 1,000 fans in a pre-queue, joined by script (their rows are written by the draw).
    const pre = queue.keys(drawing)
    await openSaleAt(env, queue, drawing, new Date(Date.now() + 600_000))
    expect((await queue.join(drawing, fans[1] as string)).created).toBe(true)
    const pipeline = env.redis.pipeline()
    for (let i = 0; i < 1_000; i += 1) {
      pipeline.queueJoin(...joinArgs(pre, newToken(drawing), `apart-pre-${i}`, 1_000_000_000))
    }
    const replies = (await pipeline.exec()) ?? []
    expect(replies.every(([error, reply]) => !error && (reply as unknown[])[0] === Reply.CREATED)).toBe(true)

    const app = gateway
    // The draw is held in its transaction, for as long as this test likes, by the lock on the
    // event's QUEUE_EPOCH row that it takes first (as a draw of a large pre-queue takes seconds).
    const held = await holdEpochRow(env, drawing)
    try {
      await openSaleAt(env, queue, drawing, new Date(Date.now() - 1_000))
      // The gateway's tick has started the draw (it holds the draw lock).
      await waitFor(async () => (await env.redis.exists(pre.drawing)) === 1, 'the draw started')
      const waiting = (await queue.join(open, fans[2] as string)).ticket.token
      await waitFor(
        async () => (await readTokenState(env.redis, queue.keys(open), waiting))?.status === 'READY',
        'the open event admitted its fan while the draw waited',
      )
      expect(await env.redis.hget(pre.sale, 'drawn')).toBeNull()
      expect(await counter(app, 'queue_loop_tick_failures_total', { loop: 'admission' })).toBeGreaterThan(0)
    } finally {
      await held.release()
    }

    await waitFor(async () => (await env.redis.hget(pre.sale, 'drawn')) === '1', 'the draw ended')
    await waitFor(
      async () => (await counter(app, 'queue_prequeue_drawn_total', { event: String(drawing) })) === 1_001,
      'the draw counted',
    )
    expect(await counter(app, 'queue_prequeue_draw_failures_total', { event: String(drawing) })).toBe(0)
    // Admission of the drawn event starts once its draw has ended.
    await waitFor(async () => (await env.redis.zcard(pre.active)) > 0, 'the drawn event admitting')
  }, 60_000)

  it('runs one draw at a time: a second sale opening with the first waits for it on this copy', async () => {
    const app = gateway
    const { queue } = makeQueue(env)
    const [first, second] = [
      await createEvent(env.db, 'first opening'),
      await createEvent(env.db, 'second opening'),
    ]
    const fans = await insertAccounts(env.db, 2, { prefix: 'one-draw' })
    for (const [i, eventId] of [first, second].entries()) {
      await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
      expect((await queue.join(eventId, fans[i] as string)).created).toBe(true)
    }
    const held = await holdEpochRow(env, first)
    try {
      for (const eventId of [first, second])
        await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
      await waitFor(
        async () => (await env.redis.exists(queue.keys(first).drawing)) === 1,
        'the first draw started',
      )
      // Six ticks: a second draw would have started, and ended (one fan), by now.
      await sleep(300)
      expect(await env.redis.exists(queue.keys(second).drawing)).toBe(0)
      expect(await env.redis.hget(queue.keys(second).sale, 'drawn')).toBeNull()
    } finally {
      await held.release()
    }
    for (const eventId of [first, second]) {
      await waitFor(async () => (await env.redis.hget(queue.keys(eventId).sale, 'drawn')) === '1', 'drawn')
      expect(await counter(app, 'queue_prequeue_drawn_total', { event: String(eventId) })).toBe(1)
    }
  })
})
