import type { AddressInfo } from 'node:net'
import { type HttpTimeouts, loadHttpTimeouts } from '@concert/shared'
import { rawHttp, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { buildTestApp } from './test-app.js'

const env = useTestEnv()

/** Short deadlines so a slow client is cut within the test's time. */
const SHORT: HttpTimeouts = loadHttpTimeouts({
  HTTP_REQUEST_TIMEOUT_MS: '2000',
  HTTP_HEADERS_TIMEOUT_MS: '1000',
})

let app: App
let port: number
let echoed = 0

beforeAll(async () => {
  app = await buildTestApp(env, { timeouts: SHORT })
  app.post('/echo', async (request) => {
    echoed += 1
    return request.body
  })
  // Answers after the request deadline has passed: the deadline is for receiving, not for answering.
  app.get('/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as AddressInfo).port
})
afterAll(async () => {
  await app?.close()
})

function expectProblem(body: string, status: number, code: string) {
  const problem = JSON.parse(body)
  expect(problem).toEqual({
    type: expect.stringMatching(/^https:\/\//),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    // Answers Fastify sends name their request; those written before a request exists cannot.
    ...('instance' in problem ? { instance: expect.stringMatching(/^urn:request:/) } : {}),
  })
}

describe('errors raised before Fastify sees a request are problem+json too', () => {
  it('a 64 KB header gets 431 HEADERS_TOO_LARGE', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/health/live`, {
      headers: { 'x-padding': 'a'.repeat(64 * 1024) },
    })
    expect(response.status).toBe(431)
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expectProblem(await response.text(), 431, 'HEADERS_TOO_LARGE')
  })

  it('a request line that is not HTTP gets 400 MALFORMED_REQUEST and the connection closes', async () => {
    const exchange = await rawHttp(port, 'GARBAGE\r\n\r\n', { giveUpAfterMs: 5_000 })
    expect(exchange.status).toBe(400)
    expect(exchange.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(exchange.headers.connection).toBe('close')
    expect(Number(exchange.headers['content-length'])).toBe(Buffer.byteLength(exchange.body))
    expectProblem(exchange.body, 400, 'MALFORMED_REQUEST')
  })

  it('a body over the limit gets 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'a'.repeat(32 * 1024) }),
    })
    expect(response.status).toBe(413)
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expectProblem(await response.text(), 413, 'PAYLOAD_TOO_LARGE')
  })
})

describe('timeouts', () => {
  it('a body sent 1 byte every 5 s is cut off by the 2 s request timeout with 408', async () => {
    const before = echoed
    const exchange = await rawHttp(
      port,
      'POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{',
      { drip: '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":1}', dripEveryMs: 5_000, giveUpAfterMs: 15_000 },
    )
    expect(exchange.status).toBe(408)
    expect(exchange.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expectProblem(exchange.body, 408, 'REQUEST_TIMEOUT')
    // 2 s deadline, checked every 250 ms: cut before the first trickled byte was even due.
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(1_900)
    expect(exchange.closedAfterMs).toBeLessThan(4_000)
    expect(exchange.dripped).toBe(0)
    expect(echoed).toBe(before)
  })

  it('headers that never end are cut off by the 1 s headers timeout with 408', async () => {
    const exchange = await rawHttp(port, 'GET /health/live HTTP/1.1\r\nHost: test\r\n', {
      drip: 'X-Slow: 1\r\n',
      dripEveryMs: 300,
      giveUpAfterMs: 10_000,
    })
    expect(exchange.status).toBe(408)
    expectProblem(exchange.body, 408, 'REQUEST_TIMEOUT')
    expect(exchange.closedAfterMs).toBeLessThan(2_500)
  })

  it('a response may take longer than the request timeout: the deadline is for receiving', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/slow`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
  })

  it('both apps get the defaults when nothing is configured', async () => {
    const plain = await buildTestApp(env)
    try {
      expect(plain.server.requestTimeout).toBe(30_000)
      expect(plain.server.headersTimeout).toBe(10_000)
      expect(plain.server.timeout).toBe(60_000)
      expect(plain.server.keepAliveTimeout).toBe(72_000)
      expect(app.server.requestTimeout).toBe(2_000)
      expect(app.server.headersTimeout).toBe(1_000)
    } finally {
      await plain.close()
    }
  })
})
