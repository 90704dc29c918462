import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBooking, expectInvariants, readyTokens } from './helpers.js'

// Whatever a client sends, the answer is never a 5xx: bad input is a 4xx problem+json.
const env = useTestEnv()
let gateway: App
let booking: App
let readyToken: string

const ids = [
  '0',
  '-1',
  '1.5',
  'abc',
  '9'.repeat(30),
  '%00',
  '%E0%A4%A',
  'a'.repeat(300),
  '1e3',
  'null',
  '👍',
  '1;DROP',
]
const bodies: unknown[] = [
  undefined,
  null,
  [],
  {},
  'text',
  42,
  { accountId: null, eventId: null },
  { accountId: ['a'], eventId: [1] },
  { accountId: 'x', eventId: 1e20 },
  { accountId: 'x', eventId: -5 },
  { accountId: "' OR 1=1 --", eventId: 1 },
  { email: 'a@b.c', name: { $gt: '' } },
  { email: 'a'.repeat(5000), name: 'n' },
  { amount: 1e300 },
  { amount: -1e300 },
  { amount: '1000' },
  { amount: 2_147_483_648 },
  { scheduleId: 1, seatId: 1e20 },
  { scheduleId: '1; DELETE FROM ACCOUNT', seatId: 1 },
  { scheduleId: 1, seatId: 1, __proto__: { admin: true } },
  { scheduleId: { $ne: 0 }, seatId: 1 },
]

beforeAll(async () => {
  await seedCatalog(env.db)
  await insertAccounts(env.db, 2, { prefix: 'g', balance: 500_000 })
  readyToken = (await readyTokens(env, 1, ['g-1'])).get('g-1') as string
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(appEnv(env, { LOG_LEVEL: 'silent' })),
    logger: false,
    workers: false,
  })
  booking = await buildBooking(env)
}, 60_000)
afterAll(async () => {
  await gateway?.close()
  await booking?.close()
})

const gatewayRoutes = (id: string): Array<[string, string]> => [
  ['POST', '/v1/queue/tokens'],
  ['GET', `/v1/queue/tokens/${id}`],
  ['DELETE', `/v1/queue/tokens/${id}`],
  ['GET', `/v1/queue/tokens/${id}/stream`],
]
const bookingRoutes = (id: string): Array<[string, string]> => [
  ['POST', '/v1/accounts'],
  ['GET', `/v1/accounts/${id}/balance`],
  ['POST', `/v1/accounts/${id}/balance/charge`],
  ['GET', `/v1/events/${id}/schedules`],
  ['GET', `/v1/schedules/${id}/seats`],
  ['POST', '/v1/reservations'],
  ['GET', `/v1/accounts/${id}/reservations`],
]

describe('garbage in, 4xx out', () => {
  it('no combination of odd ids, bodies and tokens produces a 5xx or a non-problem error', async () => {
    const authorizations = [
      undefined,
      'Bearer',
      'Bearer ',
      `Bearer ${readyToken}`,
      'Bearer 1.x',
      'Basic abc',
      'Bearer a b',
    ]
    let checked = 0
    for (const [app, routes] of [
      [gateway, gatewayRoutes],
      [booking, bookingRoutes],
    ] as const) {
      for (const id of ids) {
        for (const [method, url] of routes(id)) {
          const cases = method === 'POST' ? bodies : [undefined]
          for (const body of cases) {
            for (const authorization of authorizations) {
              const response = await app.inject({
                method: method as 'GET' | 'POST' | 'DELETE',
                url,
                headers: {
                  ...(authorization ? { authorization } : {}),
                  ...(body === undefined ? {} : { 'content-type': 'application/json' }),
                  'idempotency-key': id.slice(0, 100),
                },
                ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
              })
              checked += 1
              const where = `${method} ${url} ${JSON.stringify(body)} ${authorization}`
              expect(response.statusCode, where).toBeLessThan(500)
              if (response.statusCode >= 400) {
                expect(response.headers['content-type'], where).toContain('application/problem+json')
                expect(response.body, where).not.toMatch(/at \S+\.(ts|js):\d+|SQL|ER_/)
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5_000)
    await expectInvariants(env)
  }, 120_000)
})
