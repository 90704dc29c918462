import type { App } from '@concert/http'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

const env = useTestEnv()
let app: App
let eventId: number

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 10, { prefix: 'c' })
  eventId = await createEvent(env.db, 'contract')
  app = await buildGateway(env)
})
afterAll(async () => {
  await app?.close()
})

describe('queue-gateway HTTP contract', () => {
  it('issues a ticket with every SPEC field (201, Location), then returns it again (200)', async () => {
    const first = await join(app, 'c-1', eventId)
    expect(first.statusCode).toBe(201)
    const ticket = first.json()
    expect(first.headers.location).toBe(`/v1/queue/tokens/${ticket.token}`)
    expect(Object.keys(ticket).sort()).toEqual(
      [
        'token',
        'accountId',
        'eventId',
        'status',
        'position',
        'estimatedWaitSeconds',
        'issuedAt',
        'readyAt',
        'expiresAt',
        'pollAfterMs',
        'reason',
        'queueState',
        'opensAt',
      ].sort(),
    )
    expect(ticket).toMatchObject({
      accountId: 'c-1',
      eventId,
      status: 'WAITING',
      position: 1,
      readyAt: null,
      queueState: 'OPEN',
      opensAt: null,
    })
    expect(ticket.estimatedWaitSeconds).toBe(0) // nobody ahead
    expect(ticket.pollAfterMs).toBeGreaterThan(0)
    const again = await join(app, 'c-1', eventId)
    expect(again.statusCode).toBe(200)
    expect(again.json().token).toBe(ticket.token)

    const polled = await app.inject({ method: 'GET', url: `/v1/queue/tokens/${ticket.token}` })
    expect(polled.statusCode).toBe(200)
    expect(polled.json()).toMatchObject({ token: ticket.token, position: 1 })
  })

  it('ETA and poll interval grow with the position', async () => {
    const second = (await join(app, 'c-2', eventId)).json()
    expect(second.position).toBe(2)
    expect(second.estimatedWaitSeconds).toBeGreaterThanOrEqual(1)
  })

  it.each([
    [{ accountId: 'c-1' }, 'VALIDATION_FAILED', 400],
    [{ accountId: 'c-1', eventId: 0 }, 'VALIDATION_FAILED', 400],
    [{ accountId: 'c-1', eventId: 'one' }, 'VALIDATION_FAILED', 400],
    [{ accountId: '', eventId: 1 }, 'VALIDATION_FAILED', 400],
    [{ accountId: 'x'.repeat(65), eventId: 1 }, 'VALIDATION_FAILED', 400],
    [{ accountId: 'c-1', eventId: 1, extra: true }, 'VALIDATION_FAILED', 400],
    [{ accountId: 'nobody', eventId: 1 }, 'ACCOUNT_NOT_FOUND', 404],
    [{ accountId: 'c-1', eventId: 99_999 }, 'EVENT_NOT_FOUND', 404],
  ])('rejects %o with %s', async (payload, code, status) => {
    const response = await app.inject({ method: 'POST', url: '/v1/queue/tokens', payload })
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(response.json()).toMatchObject({ code, status })
    expect(response.json().detail).not.toMatch(/at .*\.ts|SELECT|stack/i)
  })

  it('refuses non-JSON bodies with a 4xx problem', async () => {
    const badJson = await app.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      headers: { 'content-type': 'application/json' },
      payload: '{"accountId":',
    })
    expect(badJson.statusCode).toBe(400)
    expect(badJson.json().code).toBe('VALIDATION_FAILED')
    const text = await app.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      headers: { 'content-type': 'application/xml' },
      payload: '<join/>',
    })
    expect(text.statusCode).toBe(415)
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE')
  })

  it('refuses oversized bodies and over-long tokens with 4xx problems', async () => {
    const big = await app.inject({
      method: 'POST',
      url: '/v1/queue/tokens',
      payload: { accountId: 'c-1', eventId, padding: 'x'.repeat(20_000) },
    })
    expect(big.statusCode).toBe(413)
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE')
    const long = await app.inject({ method: 'GET', url: `/v1/queue/tokens/${'a'.repeat(200)}` })
    expect(long.statusCode).toBe(400)
    expect(long.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: 'params/token must NOT have more than 128 characters',
    })
    const badUrl = await app.inject({ method: 'GET', url: '/v1/queue/tokens/%E0%A4%A' })
    expect(badUrl.statusCode).toBe(400)
    expect(badUrl.headers['content-type']).toContain('application/problem+json')
    expect(badUrl.json().code).toBe('VALIDATION_FAILED')
  })

  it('unknown, malformed and foreign-event tokens are 404 TOKEN_NOT_FOUND', async () => {
    for (const token of [`${eventId}.AAAAAAAAAAAAAAAAAAAAAA`, 'nonsense', '424242.AAAAAAAAAAAAAAAAAAAAAA']) {
      for (const method of ['GET', 'DELETE'] as const) {
        const response = await app.inject({ method, url: `/v1/queue/tokens/${token}` })
        expect(response.statusCode).toBe(404)
        expect(response.json().code).toBe('TOKEN_NOT_FOUND')
      }
    }
  })

  it('DELETE leaves the queue (204), is idempotent, and the ticket then reads EXPIRED/LEFT', async () => {
    const ticket = (await join(app, 'c-3', eventId)).json()
    const url = `/v1/queue/tokens/${ticket.token}`
    expect((await app.inject({ method: 'DELETE', url })).statusCode).toBe(204)
    expect((await app.inject({ method: 'DELETE', url })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url })).json()).toMatchObject({
      status: 'EXPIRED',
      reason: 'LEFT',
      position: 0,
      estimatedWaitSeconds: null,
      pollAfterMs: 0,
    })
    const rejoined = await join(app, 'c-3', eventId)
    expect(rejoined.statusCode).toBe(201)
    expect(rejoined.json().token).not.toBe(ticket.token)
  })

  it('limits token issuance per client IP with 429 RATE_LIMITED and Retry-After', async () => {
    const limited = await buildGateway(env, { ISSUE_RATE_LIMIT_PER_MINUTE: '3' })
    try {
      const from = (ip: string) =>
        limited.inject({
          method: 'POST',
          url: '/v1/queue/tokens',
          payload: { accountId: 'c-5', eventId },
          remoteAddress: ip,
        })
      for (let i = 0; i < 3; i += 1) expect((await from('10.1.1.1')).statusCode).toBeLessThan(300)
      const refused = await from('10.1.1.1')
      expect(refused.statusCode).toBe(429)
      expect(refused.json().code).toBe('RATE_LIMITED')
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
      // Another client is not affected.
      expect((await from('10.2.2.2')).statusCode).toBe(200)
      // Polling is never rate limited this way.
      const token = (await from('10.2.2.2')).json().token
      expect((await limited.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })).statusCode).toBe(200)
    } finally {
      await limited.close()
    }
  })

  it('documents every route in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/queue/tokens',
        '/v1/queue/tokens/{token}',
        '/v1/queue/tokens/{token}/stream',
        '/health/live',
        '/health/ready',
      ]),
    )
    expect(doc.paths['/v1/queue/tokens'].post.responses).toHaveProperty('201')
    expect(doc.paths['/v1/queue/tokens/{token}'].delete.responses).toHaveProperty('204')
  })

  it('health and metrics answer', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toContain('app="queue-gateway"')
  })
})
