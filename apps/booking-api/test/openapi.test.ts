import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { ERROR_STATUS } from '@concert/shared'
import { appEnv, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBooking } from './helpers.js'

/*
 * The OpenAPI documents are what the generated client and a new user rely on:
 * every operation has an operationId and a summary, errors are problem+json with
 * the route's codes as an enum, headers are documented, public routes say
 * `security: []`, every route that touches a store may answer 503. And the real
 * answers keep to the document. (`pnpm openapi:lint` runs Redocly over the same
 * documents.)
 */

const env = useTestEnv()
let gateway: App
let booking: App
let documents: Record<string, OpenApi>

interface Operation {
  operationId?: string
  summary?: string
  security?: unknown[]
  responses: Record<
    string,
    {
      description: string
      headers?: Record<string, unknown>
      content?: Record<string, { schema: { allOf?: Array<{ properties?: { code?: { enum?: string[] } } }> } }>
    }
  >
}
interface OpenApi {
  info: { license?: { name: string } }
  servers?: unknown[]
  paths: Record<string, Record<string, Operation>>
}

function operations(document: OpenApi): Array<[string, Operation]> {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(
      ([method, operation]) => [`${method.toUpperCase()} ${path}`, operation] as [string, Operation],
    ),
  )
}

function documentedCodes(operation: Operation | undefined, status: number): string[] {
  const schema = operation?.responses[String(status)]?.content?.['application/problem+json']?.schema
  return schema?.allOf?.flatMap((part) => part.properties?.code?.enum ?? []) ?? []
}

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 1, { prefix: 'oa' })
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { DB_POOL_SIZE: '2' })),
    logger: false,
    workers: false,
  })
  booking = await buildBooking(env, {}, { poolSize: 2 })
  documents = {
    gateway: (await gateway.inject({ method: 'GET', url: '/docs/json' })).json(),
    booking: (await booking.inject({ method: 'GET', url: '/docs/json' })).json(),
  }
})
afterAll(async () => {
  await gateway?.close()
  await booking?.close()
})

describe.each(['gateway', 'booking'])('the %s document', (name) => {
  it('names every operation uniquely, summarises it and has a server and a license', () => {
    const document = documents[name] as OpenApi
    const ids = operations(document).map(([, operation]) => operation.operationId)
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    for (const [, operation] of operations(document)) expect(operation.summary).toBeTruthy()
    expect(document.servers).toHaveLength(1)
    expect(document.info.license?.name).toBeTruthy()
  })

  it('documents errors as problem+json with a code enum from the catalogue, and 503 with Retry-After on every store route', () => {
    for (const [key, operation] of operations(documents[name] as OpenApi)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.description, key).not.toBe('Default Response')
        if (Number(status) < 400) {
          expect(response.headers, `${key} ${status}`).toHaveProperty('X-Request-Id')
          continue
        }
        expect(Object.keys(response.content ?? {}), `${key} ${status}`).toEqual(['application/problem+json'])
        const codes = documentedCodes(operation, Number(status))
        for (const code of codes)
          expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], `${key} ${code}`).toBe(Number(status))
      }
      if (key !== 'GET /health/live') {
        expect(operation.responses['503']?.headers, key).toHaveProperty('Retry-After')
      }
      expect(Array.isArray(operation.security), key).toBe(true)
    }
  })
})

describe('what the documents say about particular routes', () => {
  const op = (name: string, key: string) =>
    operations(documents[name] as OpenApi).find(([candidate]) => candidate === key)?.[1]

  it('public routes need nothing; guarded ones name their scheme', () => {
    expect(op('gateway', 'POST /v1/queue/tokens')?.security).toEqual([])
    expect(op('booking', 'GET /v1/events')?.security).toEqual([])
    expect(op('booking', 'GET /v1/schedules/{scheduleId}/seats')?.security).toEqual([{ queueToken: [] }])
    expect(op('booking', 'POST /v1/admin/venues')?.security).toEqual([{ adminKey: [] }])
  })

  it('headers: Location on a join, Idempotent-Replayed on a charge, Retry-After on 429', () => {
    expect(op('gateway', 'POST /v1/queue/tokens')?.responses['201']?.headers).toHaveProperty('Location')
    expect(op('gateway', 'POST /v1/queue/tokens')?.responses['429']?.headers).toHaveProperty('Retry-After')
    expect(
      op('booking', 'POST /v1/accounts/{accountId}/balance/charge')?.responses['200']?.headers,
    ).toHaveProperty('Idempotent-Replayed')
  })

  it('lists the route’s own codes', () => {
    const join = op('gateway', 'POST /v1/queue/tokens')
    expect(documentedCodes(join, 404).sort()).toEqual(['ACCOUNT_NOT_FOUND', 'EVENT_NOT_FOUND'])
    expect(documentedCodes(join, 400)).toEqual(['VALIDATION_FAILED'])
    const seats = op('booking', 'GET /v1/schedules/{scheduleId}/seats')
    expect(documentedCodes(seats, 401).sort()).toEqual(['TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_MISSING'])
    expect(documentedCodes(seats, 403).sort()).toEqual(['TOKEN_NOT_READY', 'TOKEN_SCOPE_MISMATCH'])
  })

  it.each([
    ['gateway', 'POST', '/v1/queue/tokens', 'POST /v1/queue/tokens', { accountId: 'nobody', eventId: 1 }, {}],
    ['gateway', 'POST', '/v1/queue/tokens', 'POST /v1/queue/tokens', { accountId: 'oa-1', eventId: 999 }, {}],
    ['gateway', 'POST', '/v1/queue/tokens', 'POST /v1/queue/tokens', { eventId: 1 }, {}],
    ['gateway', 'GET', '/v1/queue/tokens/1.nope', 'GET /v1/queue/tokens/{token}', undefined, {}],
    ['gateway', 'DELETE', '/v1/queue/tokens/1.nope', 'DELETE /v1/queue/tokens/{token}', undefined, {}],
    ['booking', 'GET', '/v1/schedules/1/seats', 'GET /v1/schedules/{scheduleId}/seats', undefined, {}],
    [
      'booking',
      'GET',
      '/v1/schedules/1/seats',
      'GET /v1/schedules/{scheduleId}/seats',
      undefined,
      { authorization: 'Bearer 1.x' },
    ],
    [
      'booking',
      'POST',
      '/v1/accounts/nobody/balance/charge',
      'POST /v1/accounts/{accountId}/balance/charge',
      { amount: 5 },
      {},
    ],
    [
      'booking',
      'POST',
      '/v1/accounts/oa-1/balance/charge',
      'POST /v1/accounts/{accountId}/balance/charge',
      { amount: 0 },
      {},
    ],
    ['booking', 'POST', '/v1/admin/venues', 'POST /v1/admin/venues', { name: 'x' }, {}],
  ])('a real %s answer to %s %s keeps to the document', async (name, method, url, key, payload, headers) => {
    const app = name === 'gateway' ? gateway : booking
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    })
    expect(response.statusCode).toBeGreaterThanOrEqual(400)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(documentedCodes(op(name, key), response.statusCode)).toContain(response.json().code)
  })
})
