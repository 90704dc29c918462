import { Writable } from 'node:stream'
import type { App } from '@concert/http'
import { appEnv, createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGatewayApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'

/*
 * A request id follows one request: taken from X-Request-Id when it is safe (or
 * made up), sent back in the X-Request-Id header, written on the request's log
 * lines (`reqId`) and named by a problem's `instance`.
 */

const env = useTestEnv()
const logLines: Array<Record<string, unknown>> = []
let app: App
let eventId: number
let baseUrl: string

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 2, { prefix: 'rid' })
  eventId = await createEvent(env.db, 'request ids')
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line))
      done()
    },
  })
  app = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { DB_POOL_SIZE: '2' })),
    logger: { level: 'info', stream: logStream },
    workers: false,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  baseUrl = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await app?.close()
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('request ids', () => {
  it('X-Request-Id: abc comes back in the header, the log line and the problem instance', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      headers: { 'x-request-id': 'abc' },
      payload: { accountId: 'nobody', eventId },
    })
    expect(response.statusCode).toBe(404)
    expect(response.headers['x-request-id']).toBe('abc')
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(response.json()).toMatchObject({ code: 'ACCOUNT_NOT_FOUND', instance: 'urn:request:abc' })
    const lines = logLines.filter((line) => line.reqId === 'abc')
    expect(lines.map((line) => line.msg)).toEqual(['incoming request', 'request completed'])
    expect(lines[1]).toMatchObject({ res: { statusCode: 404 } })
  })

  it('a success carries it too, and a request without one gets a fresh UUID each time', async () => {
    const joined = await app.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      headers: { 'x-request-id': 'join-rid-1' },
      payload: { accountId: 'rid-1', eventId },
    })
    expect(joined.statusCode).toBe(201)
    expect(joined.headers['x-request-id']).toBe('join-rid-1')
    const first = await app.inject({ method: 'GET', url: '/health/live' })
    const second = await app.inject({ method: 'GET', url: '/health/live' })
    expect(first.headers['x-request-id']).toMatch(UUID)
    expect(second.headers['x-request-id']).toMatch(UUID)
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id'])
  })

  it.each([
    ['too long', 'a'.repeat(129)],
    ['a space', 'two words'],
    ['a quote and braces', '"}{"'],
    ['a line break', 'abc%0Afake log line'],
  ])('an unsafe id (%s) is replaced by a UUID, never echoed', async (_what, unsafe) => {
    const response = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': unsafe },
    })
    expect(response.headers['x-request-id']).toMatch(UUID)
    expect(logLines.some((line) => line.reqId === unsafe)).toBe(false)
  })

  it('an SSE stream (written to the raw socket) returns it as well', async () => {
    const ticket = (
      await app.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId: 'rid-2', eventId } })
    ).json()
    const controller = new AbortController()
    const response = await fetch(`${baseUrl}/v1/queue/tokens/${ticket.token}/stream`, {
      headers: { 'x-request-id': 'sse-7' },
      signal: controller.signal,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect(response.headers.get('x-request-id')).toBe('sse-7')
    controller.abort()

    // The stream's request ends like any other (the route let go of Fastify's reply, the hub logs it).
    const completed = () =>
      logLines.find((line) => line.reqId === 'sse-7' && line.msg === 'request completed')
    for (let i = 0; i < 100 && !completed(); i += 1) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(completed()).toMatchObject({ res: { statusCode: 200 } })
    expect(logLines.filter((line) => line.reqId === 'sse-7').map((line) => line.msg)).toEqual([
      'incoming request',
      'request completed',
    ])
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/v1\/queue\/tokens\/:token\/stream"[^}]*status="200"[^}]*\} 1/,
    )
  })
})
