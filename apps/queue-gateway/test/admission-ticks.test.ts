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
 * OPEN sale with waiters every tick; an OPEN one nobody waits for, or a SCHEDULED,
 * PAUSED, SOLD_OUT or CLOSED one, not at all while nothing is due, yet a join, a PATCH,
 * the opening and a READY token's expiry still reach it within a second. The calls are
 * counted from Redis itself (MONITOR on this file's private redis-server), per event
 * (the keys name it).
 */
const env = useTestEnv({ privateRedis: true })
let gateway: App | undefined
let monitor: Redis | undefined
/** Every admit-11.lua run Redis saw: when (Redis clock, ms) and for which event. */
const admitCalls: Array<{ at: number; eventId: number }> = []

const SALES = [
  'open',
  'openIdle',
  'openOrphan',
  'scheduled',
  'preQueue',
  'paused',
  'soldOut',
  'closed',
] as const
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

/** Waits (up to 5 s) for the token of `eventId` to be READY; when it was admitted (Redis clock, ms). */
async function readyAtOf(eventId: number, token: string, what: string): Promise<number> {
  const keys = eventKeys(env.keyPrefix, eventId)
  await waitFor(async () => (await readTokenState(env.redis, keys, token))?.status === 'READY', what, 5_000)
  return Number((await readTokenState(env.redis, keys, token))?.readyAt)
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
let fans: string[]

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
  await set(ev.open, { max_active: 1 })
  fans = await insertAccounts(env.db, 7, { prefix: 'tick' })
  const { queue } = makeQueue(env, { maxActive: 1, admitPerSecond: 1_000 })
  // The open sale: its one READY slot taken, one fan waiting behind it.
  await readyTokens(queue, ev.open, [fans[4] as string])
  await queue.join(ev.open, fans[5] as string)
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
  // No idle recheck within this file's time: only a join through the gateway wakes an idle OPEN sale.
  gateway = await buildGateway(
    env,
    { QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_IDLE_RECHECK_MS: '600000' },
    { workers: true },
  )
})

afterAll(async () => {
  await gateway?.close()
  monitor?.disconnect()
})

describe('the admission loop ticks only events that can admit', () => {
  it('no admit call for SCHEDULED, PRE_QUEUE, PAUSED, SOLD_OUT and CLOSED sales, nor for an OPEN one nobody waits for, while an OPEN one with a waiter is ticked; the opening, a READY expiry and a resume are each reached within 1 s', async () => {
    // The opening, 3 s from now: a sale change, so every event gets one tick to learn its next.
    const opensAt = new Date((await redisNow()) + 3_000)
    await operatorSets(ev.preQueue, { opens_at: opensAt })
    await sleep(500)
    const from = await redisNow()
    await sleep(1_000)
    const to = Math.min(await redisNow(), opensAt.getTime())
    expect(to - from).toBeGreaterThanOrEqual(900)

    for (const name of SALES.filter((sale) => sale !== 'open'))
      expect(callsOf(ev[name], from, to), name).toBe(0)
    // Every 50 ms for a second: 20 ticks, a quarter of them even on a crowded machine.
    expect(callsOf(ev.open, from, to)).toBeGreaterThanOrEqual(5)

    // At the opening: the draw, then admission, within a second.
    const admittedAt = await readyAtOf(
      ev.preQueue,
      preQueued,
      'the pre-queued fan admitted after the opening',
    )
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
    const resumedReady = await readyAtOf(ev.paused, pausedWaiting, 'the waiter admitted after the resume')
    expect(resumedReady - resumedAt).toBeLessThan(1_000)
  })

  it('a join through the gateway wakes an OPEN sale nobody waited for: the fan is admitted within a second', async () => {
    const before = await redisNow()
    await sleep(300)
    expect(callsOf(ev.openIdle, before, await redisNow())).toBe(0)

    const joined = await gateway?.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      payload: { accountId: fans[3], eventId: ev.openIdle },
    })
    expect(joined?.statusCode).toBe(201)
    const joinedAt = await redisNow()
    const token = joined?.json().token as string
    const readyAt = await readyAtOf(ev.openIdle, token, 'the fan admitted after the join woke the event')
    expect(readyAt - joinedAt).toBeLessThan(1_000)
  })

  it('a waiter no running copy was told of (its join went through a copy that stopped) is admitted at the next idle recheck', async () => {
    const rechecking = await buildGateway(
      env,
      { QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_IDLE_RECHECK_MS: '1000' },
      { workers: true },
    )
    try {
      // Its first ticks are done: nobody waits, so the sale's next tick is the recheck's.
      await sleep(300)
      // The join goes through a copy gone since: no running gateway hears of it.
      const { queue } = makeQueue(env)
      const token = (await queue.join(ev.openOrphan, fans[6] as string)).ticket.token
      const joinedAt = await redisNow()
      const readyAt = await readyAtOf(
        ev.openOrphan,
        token,
        'the waiter admitted by the copy that rechecks idle sales',
      )
      // By the copy that rechecks every second, not by the file's gateway (every 10 minutes).
      expect(readyAt - joinedAt).toBeLessThan(2_000)
    } finally {
      await rechecking.close()
    }
  })
})
