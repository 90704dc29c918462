import type { AddressInfo } from 'node:net'
import type { App } from '@concert/http'
import { createEvent, insertAccounts, rawHttp, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep, sseEvents } from './helpers.js'

const env = useTestEnv()
let app: App
let url: string
let port: number
let eventId: number

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 2, { prefix: 'to' })
  eventId = await createEvent(env.db, 'timeouts')
  // A 1 s request deadline: anything slower to *arrive* is cut, whatever the response does.
  app = await buildGateway(env, { HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await app?.close()
})

describe('gateway timeouts', () => {
  it('an SSE stream outlives the request timeout by far, and still delivers', async () => {
    const token = (await join(app, 'to-1', eventId)).json().token as string
    const response = await fetch(`${url}/v1/queue/tokens/${token}/stream`, {
      signal: AbortSignal.timeout(20_000),
    })
    expect(response.status).toBe(200)
    const events = sseEvents(response)
    const first = await events.next()
    expect(JSON.parse(first.value?.data ?? '{}')).toMatchObject({ token, status: 'WAITING' })

    // 3.5 × the request timeout, with the deadline checked every 250 ms.
    await sleep(3_500)

    // Still open and working: leaving the queue shows up on the stream, which then ends.
    const left = await fetch(`${url}/v1/queue/tokens/${token}`, { method: 'DELETE' })
    expect(left.status).toBe(204)
    const statuses: string[] = []
    for await (const event of events) statuses.push(JSON.parse(event.data ?? '{}').status)
    expect(statuses.at(-1)).toBe('EXPIRED')
  }, 30_000)

  it('while a body trickled in 1 byte every 5 s is cut with 408 problem+json', async () => {
    const exchange = await rawHttp(
      port,
      'POST /v1/queue/tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{',
      { drip: '"accountId":"to-2","eventId":1}', dripEveryMs: 5_000, giveUpAfterMs: 15_000 },
    )
    expect(exchange.status).toBe(408)
    expect(exchange.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(exchange.body)).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' })
    expect(exchange.closedAfterMs).toBeLessThan(3_000)
    expect(exchange.dripped).toBe(0)
  })

  it('a 64 KB header gets 431 problem+json from the gateway too', async () => {
    const response = await fetch(`${url}/v1/queue/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-padding': 'a'.repeat(64 * 1024) },
      body: JSON.stringify({ accountId: 'to-2', eventId }),
    })
    expect(response.status).toBe(431)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await response.json()).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' })
  })
})
