import type { AddressInfo } from 'node:net'
import type { App } from '@concert/http'
import { refreshSaleSettings, type Ticket } from '@concert/queue'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildGateway, join, sleep, sseEvents } from './helpers.js'

// A private redis-server: one test counts every command the server runs, another FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
let accounts: string[]
const apps: App[] = []

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 230, { prefix: 'fan' })
})
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
})

/** A gateway without background loops: the test runs admission itself, so every step is exact. */
async function startGateway(overrides: Record<string, string> = {}) {
  const app = await buildGateway(env, { SSE_STREAMS_PER_IP: '1000', ...overrides })
  apps.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** An open stream that keeps the last ticket it was sent. */
interface Follow {
  token: string
  last: Ticket | undefined
  tickets: Ticket[]
  ended: Promise<void>
  close(): void
}

async function follow(url: string, token: string): Promise<Follow> {
  const controller = new AbortController()
  const response = await fetch(`${url}/v1/queue/tokens/${token}/stream`, { signal: controller.signal })
  expect(response.status).toBe(200)
  const f: Follow = {
    token,
    last: undefined,
    tickets: [],
    ended: Promise.resolve(),
    close: () => controller.abort(),
  }
  f.ended = (async () => {
    try {
      for await (const event of sseEvents(response)) {
        if (event.event !== 'ticket' || !event.data) continue
        f.last = JSON.parse(event.data) as Ticket
        f.tickets.push(f.last)
      }
    } catch {
      // aborted by close()
    }
  })()
  return f
}

async function poll(app: App, token: string): Promise<Ticket> {
  const response = await app.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
  expect(response.statusCode).toBe(200)
  return response.json() as Ticket
}

/** Every stream's last ticket equals what a poll answers now (the whole ticket), and the positions are `expected`. */
async function expectStreamsMatchPolls(app: App, streams: Follow[], expected: number[]) {
  await vi.waitFor(
    async () => {
      const polled = await Promise.all(streams.map((s) => poll(app, s.token)))
      expect(polled.map((t) => t.position)).toEqual(expected)
      expect(streams.map((s) => s.last)).toEqual(polled)
    },
    { timeout: 10_000, interval: 100 },
  )
}

async function setEvent(app: App, eventId: number, values: { paused?: number; max_active?: number }) {
  await env.db
    .updateTable('EVENT')
    .set({ ...values, updated_at: new Date(Date.now() + 1_000) })
    .where('id', '=', eventId)
    .execute()
  await refreshSaleSettings(env.db, app.redis, app.queue.keys(eventId))
}

describe('SSE fan-out: one read per event per tick', () => {
  it('positions over SSE equal polled positions after leaves in the middle, abandonment and admission', async () => {
    const { app, url } = await startGateway({ QUEUE_WAITING_IDLE_SECONDS: '2' })
    const eventId = await createEvent(env.db, 'fan-out positions')
    const fans = accounts.slice(0, 10)
    const tokens: string[] = []
    for (const id of fans) tokens.push((await join(app, id, eventId)).json().token)
    // Fans 4..9 stream; fan 0 polls; fans 1, 2 will leave; fan 3 goes quiet.
    const streams = await Promise.all(tokens.slice(4).map((token) => follow(url, token)))
    await expectStreamsMatchPolls(app, streams, [5, 6, 7, 8, 9, 10])

    // Two fans in the middle leave.
    for (const token of tokens.slice(1, 3)) {
      expect((await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${token}` })).statusCode).toBe(204)
    }
    await expectStreamsMatchPolls(app, streams, [3, 4, 5, 6, 7, 8])

    // Fan 3 stops polling and is dropped (paused: nobody is admitted meanwhile); fan 0 polls,
    // the streaming fans are kept alive by their streams alone.
    await setEvent(app, eventId, { paused: 1, max_active: 1 })
    const quietSince = Date.now()
    while (Date.now() - quietSince < 2_600) {
      await poll(app, tokens[0] as string)
      await sleep(300)
    }
    const tick = await app.queue.admit(eventId)
    expect(tick.abandoned).toBe(1)
    expect(await poll(app, tokens[3] as string)).toMatchObject({ status: 'EXPIRED', reason: 'ABANDONED' })
    await expectStreamsMatchPolls(app, streams, [2, 3, 4, 5, 6, 7])

    // Admission: fan 0 (not streaming) becomes READY, then fan 4 (streaming), whose READY
    // ticket over SSE is the polled one, field for field (readyAt, expiresAt, …).
    await setEvent(app, eventId, { paused: 0, max_active: 1 })
    await sleep(100)
    expect((await app.queue.admit(eventId)).admitted).toBe(1)
    expect((await poll(app, tokens[0] as string)).status).toBe('READY')
    await expectStreamsMatchPolls(app, streams, [1, 2, 3, 4, 5, 6])
    await setEvent(app, eventId, { max_active: 2 })
    await sleep(100)
    expect((await app.queue.admit(eventId)).admitted).toBe(1)
    await expectStreamsMatchPolls(app, streams, [0, 1, 2, 3, 4, 5])
    expect(streams[0]?.last).toMatchObject({ status: 'READY', position: 0 })
    expect(streams[0]?.last?.expiresAt).not.toBeNull()

    // The positions a stream sent only fell, one by one as fans ahead went.
    const sent = (streams[5] as Follow).tickets.map((t) => t.position)
    expect([...new Set(sent)]).toEqual([10, 8, 7, 6, 5])
    for (const s of streams) s.close()
  }, 40_000)

  it('with 200 streams open, a tick runs as many Redis commands as with 2', async () => {
    // SSE_TICK_MS of an hour: the test runs the ticks itself, between two INFO commandstats.
    const { app, url } = await startGateway({ SSE_TICK_MS: '3600000' })
    const eventId = await createEvent(env.db, 'fan-out commands')
    const tokens: string[] = []
    for (const id of accounts.slice(10, 210)) tokens.push((await join(app, id, eventId)).json().token)
    // Some leave, so the gaps are not empty.
    for (const token of tokens.slice(0, 200).filter((_, i) => i % 7 === 3)) {
      await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${token}` })
    }
    const live = tokens.filter((_, i) => i % 7 !== 3)

    const commandsPerTick = async () => {
      const counts: number[] = []
      for (let i = 0; i < 3; i += 1) {
        const before = await totalCalls()
        await app.sseHub.tick()
        counts.push((await totalCalls()) - before)
      }
      // Periodic work (the heartbeat refresh, a lease renewal) only adds: the smallest is a plain tick.
      return Math.min(...counts)
    }

    const few = await Promise.all(live.slice(0, 2).map((token) => follow(url, token)))
    await app.sseHub.tick() // takes in the new streams: their places, the gaps up to them
    await app.sseHub.tick()
    const withTwo = await commandsPerTick()

    const many = await Promise.all(live.slice(2, 200).map((token) => follow(url, token)))
    await app.sseHub.tick()
    await app.sseHub.tick()
    const withMany = await commandsPerTick()
    expect(app.sseHub.open).toBe(2 + many.length)
    expect(many.length).toBeGreaterThanOrEqual(165)

    expect(withMany).toBe(withTwo)
    // One script: its own call and the dozen reads inside it (INFO counts both).
    expect(withTwo).toBeLessThanOrEqual(15)

    // And every stream got its exact position from those reads.
    const last = many.at(-1) as Follow
    await vi.waitFor(async () => expect(last.last).toEqual(await poll(app, last.token)), { timeout: 5_000 })
    for (const s of [...few, ...many]) s.close()
  }, 60_000)

  it('after Redis loses everything (FLUSHALL), the streams go on with exact positions', async () => {
    const { app, url } = await startGateway()
    const eventId = await createEvent(env.db, 'fan-out recovery')
    const tokens: string[] = []
    for (const id of accounts.slice(210, 220)) tokens.push((await join(app, id, eventId)).json().token)
    const streams = await Promise.all(tokens.slice(5).map((token) => follow(url, token)))
    await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${tokens[1]}` })
    await expectStreamsMatchPolls(app, streams, [5, 6, 7, 8, 9])
    // What MySQL has is what the rebuild restores.
    await app.mirrorWorker.drain(eventId)

    await env.redis.flushall()
    const epochBefore = await env.db
      .selectFrom('QUEUE_EPOCH')
      .select('epoch')
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    // The next read of the feed finds the queue gone, rebuilds it, and the streams carry on.
    await expectStreamsMatchPolls(app, streams, [5, 6, 7, 8, 9])
    const epochAfter = await env.db
      .selectFrom('QUEUE_EPOCH')
      .select('epoch')
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    expect(Number(epochAfter?.epoch)).toBeGreaterThan(Number(epochBefore?.epoch ?? 0))

    // Changes after the rebuild reach the same streams.
    await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${tokens[3]}` })
    await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${tokens[6]}` })
    expect((await poll(app, tokens[6] as string)).status).toBe('EXPIRED')
    await vi.waitFor(() => expect(streams[1]?.last).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' }), {
      timeout: 5_000,
    })
    const open = streams.filter((_, i) => i !== 1)
    await expectStreamsMatchPolls(app, open, [4, 5, 6, 7])
    for (const s of streams) s.close()
  }, 40_000)
})

async function totalCalls(): Promise<number> {
  const info = await env.redis.info('commandstats')
  let total = 0
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(match[1])
  return total
}
