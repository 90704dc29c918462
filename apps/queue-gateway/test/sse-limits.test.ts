import type { AddressInfo } from 'node:net'
import type { App } from '@concert/http'
import { clientSseStreamsKey, eventKeys, SseLeases } from '@concert/queue'
import { createEvent, insertAccounts, rawHttp, seedCatalog, useTestEnv } from '@concert/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildGateway, join } from './helpers.js'

const env = useTestEnv()
const apps: App[] = []
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 10, { prefix: 'lim' })
})
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
})

/** A gateway listening on a real port; X-Forwarded-For is trusted so tests can speak from several addresses. */
async function startGateway(overrides: Record<string, string> = {}) {
  const app = await buildGateway(env, { TRUST_PROXY: '1', ...overrides })
  apps.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

async function newToken(app: App, account: string, eventId: number): Promise<string> {
  const response = await join(app, account, eventId)
  expect(response.statusCode).toBe(201)
  return response.json().token
}

interface Opened {
  status: number
  headers: Headers
  /** The problem body of a refusal. */
  problem?: { code: string; status: number; detail: string; title: string; type: string }
  /** Held until close(): fetch cancels the body of a Response collected unread, which would end the stream. */
  response: Response
  close(): void
}

/** Opens a stream over a real socket; a 200 stays open until close(). */
async function openStream(url: string, token: string, clientIp = '198.51.100.1'): Promise<Opened> {
  const controller = new AbortController()
  const response = await fetch(`${url}/v1/queue/tokens/${token}/stream`, {
    headers: { 'x-forwarded-for': clientIp },
    signal: controller.signal,
  })
  const problem = response.status === 200 ? undefined : ((await response.json()) as Opened['problem'])
  return {
    status: response.status,
    headers: response.headers,
    problem,
    response,
    close: () => controller.abort(),
  }
}

const byStatus = (opened: Opened[], status: number) => opened.filter((o) => o.status === status)

const leaseCount = (key: string) => env.redis.zcard(key)

describe('open SSE streams per queue token', () => {
  it('20 streams on one token: the first 3 are served, 17 get 429 problem+json with Retry-After', async () => {
    const { app, url } = await startGateway()
    const eventId = await createEvent(env.db, 'limits per token')
    const token = await newToken(app, accounts[0] as string, eventId)

    const opened = await Promise.all(Array.from({ length: 20 }, () => openStream(url, token)))
    const served = byStatus(opened, 200)
    const refused = byStatus(opened, 429)
    expect(served).toHaveLength(3)
    expect(refused).toHaveLength(17)
    for (const refusal of refused) {
      expect(refusal.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(refusal.headers.get('retry-after')).toBe('30')
      expect(refusal.problem).toMatchObject({ status: 429, code: 'RATE_LIMITED' })
      expect(refusal.problem?.detail).toMatch(/queue token already has 3 open streams/)
    }
    for (const stream of served) expect(stream.headers.get('content-type')).toContain('text/event-stream')
    const key = eventKeys(env.keyPrefix, eventId).sseStreams(token)
    expect(await leaseCount(key)).toBe(3)
    // Counted for the operator (queue_sse_streams_refused_total), 429s only.
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/^queue_sse_streams_refused_total\{[^}]*\} 17$/m)

    // Closing one stream gives its place back, and only that one.
    served[0]?.close()
    await vi.waitFor(async () => expect(await leaseCount(key)).toBe(2), { timeout: 5_000, interval: 50 })
    const again = await openStream(url, token)
    expect(again.status).toBe(200)
    expect((await openStream(url, token)).status).toBe(429)

    // Closing them all leaves nothing behind in Redis.
    for (const stream of [...served, again]) stream.close()
    await vi.waitFor(async () => expect(await env.redis.exists(key)).toBe(0), {
      timeout: 5_000,
      interval: 50,
    })
  })

  it('holds across two gateway copies: 10 streams split over both, 3 served in all', async () => {
    const first = await startGateway()
    const second = await startGateway()
    const eventId = await createEvent(env.db, 'limits two copies')
    const token = await newToken(first.app, accounts[1] as string, eventId)

    const opened = await Promise.all(
      Array.from({ length: 10 }, (_, i) => openStream(i % 2 === 0 ? first.url : second.url, token)),
    )
    expect(byStatus(opened, 200)).toHaveLength(3)
    expect(byStatus(opened, 429)).toHaveLength(7)

    // A place freed on one copy can be taken on the other.
    const servedByFirst = opened.filter((o, i) => o.status === 200 && i % 2 === 0)
    const servedBySecond = opened.filter((o, i) => o.status === 200 && i % 2 === 1)
    const [closing, otherCopy] =
      servedByFirst.length > 0 ? [servedByFirst[0], second.url] : [servedBySecond[0], first.url]
    closing?.close()
    const key = eventKeys(env.keyPrefix, eventId).sseStreams(token)
    await vi.waitFor(async () => expect(await leaseCount(key)).toBe(2), { timeout: 5_000, interval: 50 })
    const moved = await openStream(otherCopy, token)
    expect(moved.status).toBe(200)
    expect((await openStream(first.url, token)).status).toBe(429)
    expect((await openStream(second.url, token)).status).toBe(429)
    for (const o of [...opened, moved]) o.close()
  })

  it('clients that hang up as soon as they asked leave no place taken', async () => {
    const { app, url } = await startGateway()
    const eventId = await createEvent(env.db, 'limits hang up')
    const token = await newToken(app, accounts[2] as string, eventId)
    const port = Number(new URL(url).port)

    // Request and hang-up arrive together; whatever got a place must give it back.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        rawHttp(port, `GET /v1/queue/tokens/${token}/stream HTTP/1.1\r\nHost: t\r\n\r\n`, {
          hangUpAfterWrite: true,
          giveUpAfterMs: 5_000,
        }),
      ),
    )
    const key = eventKeys(env.keyPrefix, eventId).sseStreams(token)
    await vi.waitFor(async () => expect(await leaseCount(key)).toBe(0), { timeout: 5_000, interval: 50 })
    const opened = await Promise.all(Array.from({ length: 3 }, () => openStream(url, token)))
    expect(opened.map((o) => o.status)).toEqual([200, 200, 200])
    for (const o of opened) o.close()
  })

  it('a gateway that shuts down gives back the places of the streams it ends', async () => {
    const app = await buildGateway(env)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const eventId = await createEvent(env.db, 'limits shutdown')
    const token = await newToken(app, accounts[7] as string, eventId)
    const opened = await Promise.all(Array.from({ length: 3 }, () => openStream(url, token)))
    expect(opened.map((o) => o.status)).toEqual([200, 200, 200])
    const key = eventKeys(env.keyPrefix, eventId).sseStreams(token)
    expect(await leaseCount(key)).toBe(3)
    await app.close()
    // Released before the Redis client quit, not left to lapse.
    expect(await env.redis.exists(key)).toBe(0)
    expect(await env.redis.exists(clientSseStreamsKey(env.keyPrefix, '127.0.0.1'))).toBe(0)
  })

  it('places of a gateway copy that died come back once its leases lapse; a live copy keeps them', async () => {
    const { app } = await startGateway()
    const eventId = await createEvent(env.db, 'limits dead copy')
    const token = await newToken(app, accounts[3] as string, eventId)
    const options = { prefix: env.keyPrefix, perToken: 3, perClient: 100, leaseMs: 1_000, refreshMs: 200 }
    const dyingRedis = new Redis(env.redisUrl)
    const dying = new SseLeases(dyingRedis, options, app.log)
    const survivor = new SseLeases(env.redis, options, app.log)
    try {
      for (let i = 0; i < 3; i += 1) await dying.acquire(token, '203.0.113.1')
      // Alive for more than two lease lengths: its renewals keep the places taken.
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      await expect(survivor.acquire(token, '203.0.113.2')).rejects.toMatchObject({ code: 'RATE_LIMITED' })

      // The copy dies: no more renewals, and its streams are never released.
      await dying.close()
      dyingRedis.disconnect()
      const died = Date.now()
      const lease = await vi.waitFor(() => survivor.acquire(token, '203.0.113.2'), {
        timeout: 5_000,
        interval: 100,
      })
      expect(Date.now() - died).toBeLessThan(2_500)
      lease.release()
    } finally {
      await dying.close()
      await survivor.close()
      dyingRedis.disconnect()
    }
  })
})

describe('open SSE streams per client address', () => {
  it('with a limit of 4, six streams on three tokens from one address: 4 served; another address still served', async () => {
    const { app, url } = await startGateway({ SSE_STREAMS_PER_IP: '4' })
    const eventId = await createEvent(env.db, 'limits per ip')
    const tokens = [
      await newToken(app, accounts[4] as string, eventId),
      await newToken(app, accounts[5] as string, eventId),
      await newToken(app, accounts[6] as string, eventId),
    ]
    const address = '198.51.100.44'
    const opened = await Promise.all([...tokens, ...tokens].map((token) => openStream(url, token, address)))
    expect(byStatus(opened, 200)).toHaveLength(4)
    const refused = byStatus(opened, 429)
    expect(refused).toHaveLength(2)
    for (const refusal of refused) {
      expect(refusal.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(refusal.headers.get('retry-after')).toBe('30')
      expect(refusal.problem).toMatchObject({ code: 'RATE_LIMITED' })
      expect(refusal.problem?.detail).toMatch(/address already has 4 open streams/)
    }
    // A refusal by address gives back the token place it had taken first.
    const tokenLeases = await Promise.all(
      tokens.map((token) => leaseCount(eventKeys(env.keyPrefix, eventId).sseStreams(token))),
    )
    expect(tokenLeases.reduce((a, b) => a + b, 0)).toBe(4)
    expect(await leaseCount(clientSseStreamsKey(env.keyPrefix, address))).toBe(4)

    // Someone else (another address) is not affected.
    const other = await openStream(url, tokens[0] as string, '198.51.100.45')
    expect(other.status).toBe(200)

    // Closing a stream frees the address's place.
    const served = byStatus(opened, 200)
    served[0]?.close()
    await vi.waitFor(
      async () => expect(await leaseCount(clientSseStreamsKey(env.keyPrefix, address))).toBe(3),
      { timeout: 5_000, interval: 50 },
    )
    // tokens[1] has at most 2 streams, so only the address limit can refuse it.
    const retried = await openStream(url, tokens[1] as string, address)
    expect(retried.status).toBe(200)
    expect((await openStream(url, tokens[2] as string, address)).status).toBe(429)
    for (const o of [...opened, other, retried]) o.close()
  })
})
