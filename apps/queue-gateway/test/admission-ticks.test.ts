import { createHash } from 'node:crypto'
import type { App } from '@concert/http'
import { eventKeys, loadScripts, refreshSaleSettings, setSoldOut } from '@concert/queue'
import { makeQueue, readTokenState, readyTokens } from '@concert/queue/testing'
import { createEvent, insertAccounts, seedCatalog, useTestEnv, waitFor } from '@concert/testing'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, sleep } from './helpers.js'

/*
 * The admission loop runs admit-11.lua only for events a tick can move (SPEC §8): an
 * OPEN sale every tick; a SCHEDULED, PAUSED, SOLD_OUT or CLOSED one not at all while
 * nothing is due, yet a PATCH, the opening and a READY token's expiry still reach it
 * within a second. The calls are counted from Redis itself (MONITOR on this file's
 * private redis-server), per event (the keys name it).
 */
const env = useTestEnv({ privateRedis: true })
let gateway: App | undefined
let monitor: Redis | undefined
/** Every admit-11.lua run Redis saw: when (Redis clock, ms) and for which event. */
const admitCalls: Array<{ at: number; eventId: number }> = []

const SALES = ['open', 'scheduled', 'preQueue', 'paused', 'soldOut', 'closed'] as const
const ev = {} as Record<(typeof SALES)[number], number>
const PAUSED_READY_TTL_SECONDS = 10

const admitLua = loadScripts().find((script) => script.file === 'admit-11')?.lua as string
const admitSha = createHash('sha1').update(admitLua).digest('hex')

/** The event an admit call's first key (its marker, `<prefix>{q:<id>}:marker`) belongs to. */
function admitEventOf(args: string[]): number | undefined {
  const [command, script, , marker] = args
  const isAdmit =
    (command?.toLowerCase() === 'evalsha' && script === admitSha) ||
    (command?.toLowerCase() === 'eval' && script === admitLua)
  if (!isAdmit || !marker?.startsWith(env.keyPrefix)) return undefined
  const id = /\{q:(\d+)\}/.exec(marker)?.[1]
  return id === undefined ? undefined : Number(id)
}

const callsOf = (eventId: number, from: number, to: number) =>
  admitCalls.filter((call) => call.eventId === eventId && call.at >= from && call.at < to).length

async function redisNow(): Promise<number> {
  const [seconds, micros] = await env.redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

/** Changes an event's row as the operator API does, then publishes it as the API does. */
async function operatorSets(eventId: number, columns: { paused?: number; opens_at?: Date }) {
  await env.db.updateTable('EVENT').set(columns).where('id', '=', eventId).execute()
  await refreshSaleSettings(env.db, env.redis, eventKeys(env.keyPrefix, eventId))
}

const hour = 3_600_000
let pausedReady: string
let pausedWaiting: string
let preQueued: string

beforeAll(async () => {
  await seedCatalog(env.db)
  for (const name of SALES) ev[name] = await createEvent(env.db, name)
  const now = Date.now()
  const set = (eventId: number, columns: Record<string, unknown>) =>
    env.db.updateTable('EVENT').set(columns).where('id', '=', eventId).execute()
  await set(ev.scheduled, { opens_at: new Date(now + hour), pre_queue_minutes: 15 })
  await set(ev.preQueue, { opens_at: new Date(now + hour), pre_queue_minutes: 120 })
  await set(ev.closed, { closes_at: new Date(now - 60_000) })
  await set(ev.paused, { active_ttl_seconds: PAUSED_READY_TTL_SECONDS })
  const fans = await insertAccounts(env.db, 4, { prefix: 'tick' })
  const { queue } = makeQueue(env, { maxActive: 1, admitPerSecond: 1_000 })
  // The paused sale: one fan READY (admitted before the pause), one waiting behind.
  pausedReady = (await readyTokens(queue, ev.paused, [fans[0] as string])).get(fans[0] as string) as string
  pausedWaiting = (await queue.join(ev.paused, fans[1] as string)).ticket.token
  await operatorSets(ev.paused, { paused: 1 })
  // The pre-queue: one fan waits for the draw.
  preQueued = (await queue.join(ev.preQueue, fans[2] as string)).ticket.token
  await setSoldOut(env.db, env.redis, eventKeys(env.keyPrefix, ev.soldOut), true)

  monitor = await env.redis.monitor()
  monitor.on('monitor', (time: string, args: string[]) => {
    const eventId = admitEventOf(args)
    if (eventId !== undefined) admitCalls.push({ at: Math.floor(Number(time) * 1000), eventId })
  })
  gateway = await buildGateway(env, { QUEUE_ADMIT_INTERVAL_MS: '50' }, { workers: true })
})

afterAll(async () => {
  await gateway?.close()
  monitor?.disconnect()
})

describe('the admission loop ticks only events that can admit', () => {
  it('no admit call for SCHEDULED, PRE_QUEUE, PAUSED, SOLD_OUT and CLOSED sales while an OPEN one is ticked; the opening, a READY expiry and a resume are each reached within 1 s', async () => {
    // The opening, 3 s from now: a sale change, so every event gets one tick to learn its next.
    const opensAt = new Date((await redisNow()) + 3_000)
    await operatorSets(ev.preQueue, { opens_at: opensAt })
    await sleep(500)
    const from = await redisNow()
    await sleep(1_000)
    const to = Math.min(await redisNow(), opensAt.getTime())
    expect(to - from).toBeGreaterThanOrEqual(900)

    for (const name of ['scheduled', 'preQueue', 'paused', 'soldOut', 'closed'] as const)
      expect(callsOf(ev[name], from, to), name).toBe(0)
    // Every 50 ms for a second: 20 ticks, a quarter of them even on a crowded machine.
    expect(callsOf(ev.open, from, to)).toBeGreaterThanOrEqual(5)

    // At the opening: the draw, then admission, within a second.
    const preQueueKeys = eventKeys(env.keyPrefix, ev.preQueue)
    await waitFor(
      async () => (await readTokenState(env.redis, preQueueKeys, preQueued))?.status === 'READY',
      'the pre-queued fan admitted after the opening',
      5_000,
    )
    const admittedAt = Number((await readTokenState(env.redis, preQueueKeys, preQueued))?.readyAt)
    expect(admittedAt - opensAt.getTime()).toBeLessThan(1_000)
    expect(callsOf(ev.preQueue, from, opensAt.getTime())).toBe(0)

    // A READY token of the paused sale still times out at the end of its window: no call
    // for the paused sale until then, one within a second after.
    const pausedKeys = eventKeys(env.keyPrefix, ev.paused)
    const ready = await readTokenState(env.redis, pausedKeys, pausedReady)
    expect(ready?.status).toBe('READY')
    const windowEnds = Number(ready?.expiresAt)
    await waitFor(
      async () => (await readTokenState(env.redis, pausedKeys, pausedReady))?.status === 'EXPIRED',
      'the paused sale’s READY token timed out',
      PAUSED_READY_TTL_SECONDS * 1000 + 5_000,
    )
    expect((await readTokenState(env.redis, pausedKeys, pausedReady))?.reason).toBe('TIMEOUT')
    expect(callsOf(ev.paused, from, windowEnds)).toBe(0)
    expect(callsOf(ev.paused, windowEnds, windowEnds + 1_000)).toBeGreaterThanOrEqual(1)
    expect((await readTokenState(env.redis, pausedKeys, pausedWaiting))?.status).toBe('WAITING')

    // Resume: the waiter is admitted within a second of the operator's change.
    const resumedAt = await redisNow()
    await operatorSets(ev.paused, { paused: 0 })
    await waitFor(
      async () => (await readTokenState(env.redis, pausedKeys, pausedWaiting))?.status === 'READY',
      'the waiter admitted after the resume',
      5_000,
    )
    const resumedReady = Number((await readTokenState(env.redis, pausedKeys, pausedWaiting))?.readyAt)
    expect(resumedReady - resumedAt).toBeLessThan(1_000)
  })
})
