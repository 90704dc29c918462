import type { App } from '@concert/http'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CatalogService } from '../src/services/catalog.service.js'
import { bearer, buildBooking, fastQueue, readyTokens } from './helpers.js'

const CACHES = { catalogCacheMs: 60_000, seatMapCacheMs: 1_000 }

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>
let scheduleId: number
let otherScheduleId: number

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  scheduleId = (catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }).id
  otherScheduleId = (catalog.schedules.find((s) => s.event_id === catalog.otherEventId) as { id: number }).id
  await insertAccounts(env.db, 5, { prefix: 'k', balance: 1_000_000 })
  app = await buildBooking(env)
})
afterAll(async () => {
  await app?.close()
})

const get = (url: string, token?: string) =>
  app.inject({ method: 'GET', url, headers: token ? bearer(token) : {} })

describe('accounts', () => {
  it('creates an account (201) and refuses a second one with the same email (409)', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email: 'New.Fan@Example.com', name: ' New Fan ' },
    })
    expect(created.statusCode).toBe(201)
    const account = created.json()
    expect(account).toMatchObject({ email: 'new.fan@example.com', name: 'New Fan', balance: 0 })
    expect(account.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(account.createdAt)).not.toBeNaN()
    const again = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email: 'new.fan@example.com', name: 'Someone' },
    })
    expect(again.statusCode).toBe(409)
    expect(again.json().code).toBe('EMAIL_TAKEN')
  })

  it('20 parallel sign-ups with one email: exactly one account', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/v1/accounts',
          payload: { email: 'race@example.com', name: `R${i}` },
        }),
      ),
    )
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1)
    expect(responses.filter((r) => r.statusCode === 409 && r.json().code === 'EMAIL_TAKEN')).toHaveLength(19)
    const rows = await env.db
      .selectFrom('ACCOUNT')
      .selectAll()
      .where('email', '=', 'race@example.com')
      .execute()
    expect(rows).toHaveLength(1)
  })

  it.each([
    [{ email: 'not-an-email', name: 'x' }],
    [{ email: 'a@b.co' }],
    [{ email: 'a@b.co', name: '' }],
    [{ email: 'a@b.co', name: 'x'.repeat(65) }],
    [{ email: `${'x'.repeat(124)}@b.co`, name: 'x' }],
    [{ email: 'a@b.co', name: 'x', admin: true }],
  ])('rejects %o with 400 VALIDATION_FAILED', async (payload) => {
    const response = await app.inject({ method: 'POST', url: '/v1/accounts', payload })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 })
  })

  it('names the offending field in validation errors', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/accounts/k-1/balance/charge',
      payload: { amount: 'x' },
    })
    expect(response.json().detail).toBe('body/amount must be integer')
  })
})

describe('the token guard', () => {
  it('maps every token problem to its SPEC code', async () => {
    const ready = (await readyTokens(env, catalog.eventId, ['k-1'])).get('k-1') as string
    const waitingQueue = fastQueue(env)
    const waitingEvent = await createEvent(env.db, 'guard waiting')
    const waiting = (await waitingQueue.join(waitingEvent, 'k-2')).ticket.token

    const cases: Array<[string, Record<string, string>, number, string]> = [
      [`/v1/events/${catalog.eventId}/schedules`, {}, 401, 'TOKEN_MISSING'],
      [`/v1/events/${catalog.eventId}/schedules`, { authorization: `Basic ${ready}` }, 401, 'TOKEN_MISSING'],
      [
        `/v1/events/${catalog.eventId}/schedules`,
        bearer(`${catalog.eventId}.AAAAAAAAAAAAAAAAAAAAAA`),
        401,
        'TOKEN_INVALID',
      ],
      [`/v1/events/${catalog.eventId}/schedules`, bearer('garbage'), 401, 'TOKEN_INVALID'],
      [`/v1/events/${waitingEvent}/schedules`, bearer(waiting), 403, 'TOKEN_NOT_READY'],
      [`/v1/events/${catalog.otherEventId}/schedules`, bearer(ready), 403, 'TOKEN_SCOPE_MISMATCH'],
      [`/v1/schedules/${otherScheduleId}/seats`, bearer(ready), 403, 'TOKEN_SCOPE_MISMATCH'],
      ['/v1/accounts/k-3/balance', bearer(ready), 403, 'TOKEN_SCOPE_MISMATCH'],
      ['/v1/schedules/999999/seats', bearer(ready), 404, 'SCHEDULE_NOT_FOUND'],
    ]
    for (const [url, headers, status, code] of cases) {
      const response = await app.inject({ method: 'GET', url, headers })
      expect({ url, status: response.statusCode, code: response.json().code }).toEqual({ url, status, code })
    }
    // A WAITING token may read its own balance; a READY one too.
    expect((await get('/v1/accounts/k-2/balance', waiting)).json()).toEqual({
      accountId: 'k-2',
      balance: 1_000_000,
    })
    expect((await get('/v1/accounts/k-1/balance', ready)).statusCode).toBe(200)

    await waitingQueue.leave(ready)
    const expired = await get(`/v1/events/${catalog.eventId}/schedules`, ready)
    expect(expired.statusCode).toBe(401)
    expect(expired.json().code).toBe('TOKEN_EXPIRED')
  })

  it('a READY token past its expiry is refused even before the sweep runs', async () => {
    const queue = fastQueue(env, { activeTtlSeconds: 1 })
    const event = await createEvent(env.db, 'guard ttl')
    const token = (await queue.join(event, 'k-4')).ticket.token
    for (let i = 0; i < 20 && (await queue.get(token))?.status !== 'READY'; i += 1) {
      await queue.admit(event)
      await new Promise((r) => setTimeout(r, 10))
    }
    expect((await get(`/v1/events/${event}/schedules`, token)).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 1_100))
    const late = await get(`/v1/events/${event}/schedules`, token)
    expect(late.statusCode).toBe(401)
    expect(late.json().code).toBe('TOKEN_EXPIRED')
  })
})

describe('catalogue', () => {
  it('lists events with their venue', async () => {
    const events = (await get('/v1/events')).json()
    expect(events.length).toBeGreaterThanOrEqual(2)
    expect(events[0]).toMatchObject({ venue: { name: 'Olympic Hall' } })
    expect(events[0].startDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('shows only dates from today on with free seats, with counts; a sold-out show disappears', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['k-5'])).get('k-5') as string
    const dates = (await get(`/v1/events/${catalog.eventId}/schedules`, token)).json()
    const today = new Date().toISOString().slice(0, 10)
    expect(dates.length).toBeGreaterThan(0)
    for (const d of dates) {
      expect(d.date >= today).toBe(true)
      expect(d).toMatchObject({ totalSeats: 50, availableSeats: 50 })
    }
    // Sell out the last show directly in the database.
    const last = dates.at(-1)
    await env.db
      .insertInto('RESERVATION')
      .values(
        catalog.seats.map((s) => ({
          schedule_id: last.scheduleId,
          seat_id: s.id,
          account_id: 'k-5',
          price: 0,
        })),
      )
      .execute()
    // Written behind the API's back: tell the catalogue caches as the purchase path does after its commit.
    await new CatalogService(env.db, env.redis, env.keyPrefix, CACHES).seatsChanged([last.scheduleId])
    const after = (await get(`/v1/events/${catalog.eventId}/schedules`, token)).json()
    expect(after.map((d: { scheduleId: number }) => d.scheduleId)).not.toContain(last.scheduleId)
    await env.db.deleteFrom('RESERVATION').where('schedule_id', '=', last.scheduleId).execute()
    await new CatalogService(env.db, env.redis, env.keyPrefix, CACHES).seatsChanged([last.scheduleId])
  })

  it('the seat map has 50 seats in number order with area, type and price, and the order limit', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['k-5'])).get('k-5') as string
    const map = (await get(`/v1/schedules/${scheduleId}/seats`, token)).json()
    // maxSeatsPerOrder: the demo event's limit, SPEC §9's default.
    expect(map).toMatchObject({ scheduleId, eventId: catalog.eventId, maxSeatsPerOrder: 4 })
    expect(map.seats.map((s: { seatNumber: string }) => Number(s.seatNumber))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    for (const seat of map.seats) {
      expect(seat.price).toBeGreaterThan(0)
      expect(['AVAILABLE', 'RESERVED']).toContain(seat.status)
      expect(seat.area).toBeTruthy()
    }
  })

  it('a sale shows on the seat map at once, although the map is cached', async () => {
    const tokens = await readyTokens(env, catalog.eventId, ['k-3', 'k-4'])
    const viewer = tokens.get('k-4') as string
    const seat = catalog.seats[2] as { id: number }
    const status = async () =>
      (await get(`/v1/schedules/${scheduleId}/seats`, viewer))
        .json()
        .seats.find((s: { seatId: number }) => s.seatId === seat.id).status
    expect(await status()).toBe('AVAILABLE') // now cached as available
    const sale = await app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(tokens.get('k-3') as string),
      payload: { scheduleId, seatId: seat.id },
    })
    expect(sale.statusCode).toBe(201)
    expect(await status()).toBe('RESERVED')
  })

  it('reservations of seats or schedules that do not exist are 404', async () => {
    const token = (await readyTokens(env, catalog.eventId, ['k-5'])).get('k-5') as string
    const reserve = (payload: object) =>
      app.inject({ method: 'POST', url: '/v1/reservations', headers: bearer(token), payload })
    expect((await reserve({ scheduleId: 999_999, seatId: 1 })).json().code).toBe('SCHEDULE_NOT_FOUND')
    expect((await reserve({ scheduleId, seatId: 999_999 })).json().code).toBe('SEAT_NOT_FOUND')
    expect((await reserve({ scheduleId, seatId: 0 })).json().code).toBe('VALIDATION_FAILED')
    expect((await reserve({ scheduleId: '1', seatId: 1 })).json().code).toBe('VALIDATION_FAILED')
    const past = await env.db
      .insertInto('EVENT_SCHEDULE')
      .values({ event_id: catalog.eventId, date: '2020-01-01', start_time: '19:00:00', end_time: null })
      .executeTakeFirstOrThrow()
    const pastSale = await reserve({
      scheduleId: Number(past.insertId),
      seatId: (catalog.seats[0] as { id: number }).id,
    })
    expect(pastSale.statusCode).toBe(404)
    expect(pastSale.json()).toMatchObject({
      code: 'SCHEDULE_NOT_FOUND',
      detail: expect.stringMatching(/2020-01-01/),
    })
    // Nothing moved and the token is still usable.
    expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('READY')
  })

  it('documents every route, with request and response schemas, in OpenAPI', async () => {
    const doc = (await get('/docs/json')).json()
    const paths = doc.paths
    for (const path of [
      '/v1/accounts',
      '/v1/accounts/{accountId}/balance',
      '/v1/accounts/{accountId}/balance/charge',
      '/v1/events',
      '/v1/events/{eventId}/schedules',
      '/v1/schedules/{scheduleId}/seats',
      '/v1/reservations',
      '/v1/accounts/{accountId}/reservations',
    ]) {
      expect(paths).toHaveProperty([path])
    }
    expect(paths['/v1/reservations'].post.responses).toHaveProperty('201')
    expect(paths['/v1/reservations'].post.responses).toHaveProperty('402')
    expect(paths['/v1/reservations'].post.requestBody).toBeDefined()
    expect(paths['/v1/reservations'].post.security).toEqual([{ queueToken: [] }])
  })
})
