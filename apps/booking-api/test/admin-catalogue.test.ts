import type { App } from '@concert/http'
import { sleep } from '@concert/queue/testing'
import { accountBalance, insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addShow,
  admin,
  buildAdminBooking,
  createEvent,
  createVenue,
  layout,
  writtenState,
} from './admin-helpers.js'
import { bearer, expectInvariants, fastQueue, readyTokens } from './helpers.js'

const env = useTestEnv({ poolSize: 6 })
let app: App

beforeAll(async () => {
  app = await buildAdminBooking(env)
})
afterAll(async () => {
  await app?.close()
})

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('venues', () => {
  it('creates a venue with its layout, stores the zone by its canonical name, and reads it back', async () => {
    const seats = [
      { seatNumber: '10', area: 'Floor', seatType: 'VIP' },
      { seatNumber: '2', area: ' Floor ', seatType: 'VIP' },
      { seatNumber: '1', area: 'Balcony', seatType: 'R' },
    ]
    const created = await admin(app, 'POST', '/v1/admin/venues', {
      name: ' Blue Square ',
      address: 'Hannam-dong, Seoul',
      timeZone: 'asia/seoul',
      seats,
    })
    expect(created.status).toBe(201)
    expect(created.headers.location).toBe(`/v1/admin/venues/${created.body.id}`)
    expect(created.body).toMatchObject({
      name: 'Blue Square',
      address: 'Hannam-dong, Seoul',
      timeZone: 'Asia/Seoul',
      capacity: 3,
    })
    expect(
      created.body.seats.map((s: { seatNumber: string; area: string }) => [s.seatNumber, s.area]),
    ).toEqual([
      ['1', 'Balcony'],
      ['2', 'Floor'],
      ['10', 'Floor'],
    ])
    const read = await admin(app, 'GET', `/v1/admin/venues/${created.body.id}`)
    expect(read).toMatchObject({ status: 200, body: created.body })
    expect((await admin(app, 'GET', '/v1/admin/venues/999999')).body).toMatchObject({
      status: 404,
      code: 'VENUE_NOT_FOUND',
    })
  })

  it('takes 5,000 seats in one request, refuses 5,001', async () => {
    const big = await admin(app, 'POST', '/v1/admin/venues', {
      name: 'Stadium',
      timeZone: 'Asia/Seoul',
      seats: layout(5_000),
    })
    expect(big.status).toBe(201)
    expect(big.body.seats).toHaveLength(5_000)
    const rows = await env.db
      .selectFrom('VENUE_SEAT')
      .select('id')
      .where('venue_id', '=', big.body.id)
      .execute()
    expect(rows).toHaveLength(5_000)
    const before = await writtenState(env)
    const tooBig = await admin(app, 'POST', '/v1/admin/venues', {
      name: 'Too Big',
      timeZone: 'Asia/Seoul',
      seats: layout(5_001),
    })
    expect(tooBig.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' })
    expect(await writtenState(env)).toEqual(before)
  })

  it.each([
    ['a time zone Intl does not know', { timeZone: 'Mars/Olympus_Mons' }, /timeZone/],
    ['a fixed offset instead of a zone', { timeZone: '+09:00' }, /timeZone/],
    ['an offset name', { timeZone: 'UTC+9' }, /timeZone/],
    [
      'a seat number twice',
      { seats: [...layout(3), { seatNumber: '2', area: 'B', seatType: 'R' }] },
      /unique: 2/,
    ],
    [
      'seat numbers that differ only in case',
      {
        seats: [
          { seatNumber: 'a1', area: 'A', seatType: 'R' },
          { seatNumber: 'A1', area: 'A', seatType: 'R' },
        ],
      },
      /unique: A1/,
    ],
    [
      'seat types that differ only in case',
      {
        seats: [
          { seatNumber: '1', area: 'A', seatType: 'VIP' },
          { seatNumber: '2', area: 'A', seatType: 'vip' },
        ],
      },
      /VIP, vip/,
    ],
    ['no seats', { seats: [] }, /seats/],
  ])('refuses %s with 400 and writes nothing', async (_what, change, detail) => {
    const before = await writtenState(env)
    const response = await admin(app, 'POST', '/v1/admin/venues', {
      name: 'Refused Venue',
      timeZone: 'Europe/London',
      seats: layout(3),
      ...change,
    })
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', detail: expect.stringMatching(detail) })
    expect(await writtenState(env)).toEqual(before)
  })

  it('20 parallel creations of one venue name: one 201, 19 × 409 VENUE_NAME_TAKEN, one layout', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        admin(app, 'POST', '/v1/admin/venues', {
          name: 'Race Hall',
          timeZone: 'Asia/Seoul',
          seats: layout(10),
        }),
      ),
    )
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1)
    expect(responses.filter((r) => r.status === 409 && r.body.code === 'VENUE_NAME_TAKEN')).toHaveLength(19)
    const venues = await env.db.selectFrom('VENUE').select('id').where('name', '=', 'Race Hall').execute()
    expect(venues).toHaveLength(1)
    const seats = await env.db
      .selectFrom('VENUE_SEAT')
      .innerJoin('VENUE', 'VENUE.id', 'VENUE_SEAT.venue_id')
      .select('VENUE_SEAT.id')
      .where('VENUE.name', '=', 'Race Hall')
      .execute()
    expect(seats).toHaveLength(10)
  })
})

describe('events', () => {
  let venueId: number
  beforeAll(async () => {
    venueId = (await createVenue(app, 'Event Hall', { seats: 9 })).id
  })

  it('creates an event with prices and settings; defaults where the body is silent; fans see it once it has a show', async () => {
    const created = await admin(app, 'POST', '/v1/admin/events', {
      title: 'Spring Tour',
      description: 'Two nights',
      venueId,
      prices: { VIP: 120_000, R: 80_000 },
      sale: { opensAt: '2031-01-01T11:00:00+09:00', closesAt: '2031-02-01T00:00:00Z', preQueueMinutes: 30 },
      queue: { maxActive: 500, admitPerSecond: 25 },
    })
    expect(created.status).toBe(201)
    expect(created.headers.location).toBe(`/v1/admin/events/${created.body.id}`)
    expect(created.body).toMatchObject({
      title: 'Spring Tour',
      description: 'Two nights',
      venue: { id: venueId, name: 'Event Hall', timeZone: 'Asia/Seoul' },
      prices: { R: 80_000, VIP: 120_000 },
      sale: {
        opensAt: '2031-01-01T02:00:00.000Z',
        closesAt: '2031-02-01T00:00:00.000Z',
        preQueueMinutes: 30,
      },
      queue: {
        maxActive: 500,
        admitPerSecond: 25,
        activeTtlSeconds: null,
        waitingIdleSeconds: null,
        paused: false,
      },
      limits: { maxSeatsPerOrder: 4, maxSeatsPerAccount: 8 },
      startDate: null,
      endDate: null,
      schedules: [],
    })
    const eventId = created.body.id as number
    expect((await admin(app, 'GET', `/v1/admin/events/${eventId}`)).body).toEqual(created.body)

    const listed = async () =>
      ((await app.inject({ method: 'GET', url: '/v1/events' })).json() as Array<{ id: number }>).some(
        (e) => e.id === eventId,
      )
    expect(await listed()).toBe(false)
    await addShow(app, eventId, { date: '2031-01-10', startTime: '19:00:00' })
    expect(await listed()).toBe(true)
    // A second event may share the title.
    expect(
      (
        await admin(app, 'POST', '/v1/admin/events', {
          title: 'Spring Tour',
          venueId,
          prices: { VIP: 1, R: 1 },
        })
      ).status,
    ).toBe(201)
  })

  it.each([
    ['a seat type without a price', { prices: { VIP: 1 } }, 422, 'PRICES_MISMATCH', /no price for R/],
    [
      'a price for a type the venue lacks',
      { prices: { VIP: 1, R: 1, GOLD: 1 } },
      422,
      'PRICES_MISMATCH',
      /GOLD/,
    ],
    [
      'a type spelled in another case',
      { prices: { vip: 1, R: 1 } },
      422,
      'PRICES_MISMATCH',
      /no price for VIP/,
    ],
    ['a negative price', { prices: { VIP: -1, R: 1 } }, 400, 'VALIDATION_FAILED', /prices/],
    ['a price in fractions of a won', { prices: { VIP: 1.5, R: 1 } }, 400, 'VALIDATION_FAILED', /prices/],
    [
      'a sale that closes before it opens',
      { sale: { opensAt: '2031-01-02T00:00:00Z', closesAt: '2031-01-01T00:00:00Z' } },
      400,
      'VALIDATION_FAILED',
      /closesAt must be after/,
    ],
    [
      'a sale time without a zone',
      { sale: { opensAt: '2031-01-02T00:00:00' } },
      400,
      'VALIDATION_FAILED',
      /opensAt/,
    ],
    [
      'more seats per order than per account',
      { limits: { maxSeatsPerOrder: 10 } },
      400,
      'VALIDATION_FAILED',
      /maxSeatsPerOrder \(10\) must not exceed maxSeatsPerAccount \(8\)/,
    ],
    ['a queue setting of 0', { queue: { admitPerSecond: 0 } }, 400, 'VALIDATION_FAILED', /admitPerSecond/],
    ['an unknown venue', { venueId: 999_999 }, 404, 'VENUE_NOT_FOUND', /999999/],
    ['a blank title', { title: '   ' }, 400, 'VALIDATION_FAILED', /title/],
  ])('refuses %s and writes nothing', async (_what, change, status, code, detail) => {
    const before = await writtenState(env)
    const response = await admin(app, 'POST', '/v1/admin/events', {
      title: 'Refused',
      venueId,
      prices: { VIP: 1, R: 1 },
      ...change,
    })
    expect(response.status).toBe(status)
    expect(response.body).toMatchObject({ code, detail: expect.stringMatching(detail) })
    expect(await writtenState(env)).toEqual(before)
  })

  it('PATCH changes what it names, null clears, and refuses what would break the rules without writing', async () => {
    const eventId = await createEvent(app, venueId, 'Patch Night', { VIP: 100, R: 50 })
    const patched = await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, {
      title: 'Patch Night II',
      sale: { opensAt: '2031-05-01T10:00:00Z' },
      queue: { activeTtlSeconds: 120 },
      limits: { maxSeatsPerOrder: 2, maxSeatsPerAccount: 3 },
    })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({
      title: 'Patch Night II',
      prices: { VIP: 100, R: 50 },
      sale: { opensAt: '2031-05-01T10:00:00.000Z', closesAt: null },
      queue: { activeTtlSeconds: 120, maxActive: null },
      limits: { maxSeatsPerOrder: 2, maxSeatsPerAccount: 3 },
    })
    const cleared = await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, {
      sale: { opensAt: null },
      queue: { activeTtlSeconds: null },
      description: null,
    })
    expect(cleared.body).toMatchObject({
      title: 'Patch Night II',
      description: null,
      sale: { opensAt: null },
      queue: { activeTtlSeconds: null },
    })

    const before = await writtenState(env)
    const refusals = [
      [{ limits: { maxSeatsPerOrder: 4 } }, 400, 'VALIDATION_FAILED'],
      [
        { sale: { opensAt: '2031-06-01T00:00:00Z', closesAt: '2031-06-01T00:00:00Z' } },
        400,
        'VALIDATION_FAILED',
      ],
      [{ prices: { R: 60, GOLD: 1 } }, 422, 'PRICES_MISMATCH'],
      [{ venueId }, 400, 'VALIDATION_FAILED'],
      [{ title: '' }, 400, 'VALIDATION_FAILED'],
    ] as const
    for (const [body, status, code] of refusals) {
      const response = await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, body)
      expect({ body, status: response.status, code: response.body.code }).toEqual({ body, status, code })
    }
    expect(await writtenState(env)).toEqual(before)
    expect((await admin(app, 'GET', `/v1/admin/events/${eventId}`)).body).toMatchObject({
      prices: { VIP: 100, R: 50 },
      limits: { maxSeatsPerOrder: 2, maxSeatsPerAccount: 3 },
    })
    expect((await admin(app, 'PATCH', '/v1/admin/events/999999', { title: 'x' })).body.code).toBe(
      'EVENT_NOT_FOUND',
    )
  })

  it('a new price applies to the next sale; the sale made before keeps what it paid', async () => {
    const eventId = await createEvent(app, venueId, 'Price Change', { VIP: 70_000, R: 40_000 })
    const scheduleId = await addShow(app, eventId, { date: '2031-04-04', startTime: '19:30:00' })
    const [early, late] = (await insertAccounts(env.db, 2, { prefix: 'price', balance: 200_000 })) as [
      string,
      string,
    ]
    const tokens = await readyTokens(env, eventId, [early, late])
    const venue = (await admin(app, 'GET', `/v1/admin/venues/${venueId}`)).body
    const [first, second] = venue.seats.filter((s: { seatType: string }) => s.seatType === 'R')
    const buy = (account: string, seatId: number) =>
      app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer(tokens.get(account) as string),
        payload: { scheduleId, seatId },
      })
    const seatPrice = async (account: string, seatId: number) =>
      (
        await app.inject({
          method: 'GET',
          url: `/v1/schedules/${scheduleId}/seats`,
          headers: bearer(tokens.get(account) as string),
        })
      )
        .json()
        .seats.find((s: { seatId: number }) => s.seatId === seatId).price

    expect(await seatPrice(late, second.seatId)).toBe(40_000) // the seat map is now cached
    expect((await buy(early, first.seatId)).json()).toMatchObject({ price: 40_000, balance: 160_000 })
    expect((await admin(app, 'PATCH', `/v1/admin/events/${eventId}`, { prices: { R: 45_000 } })).status).toBe(
      200,
    )
    expect(await seatPrice(late, second.seatId)).toBe(45_000)
    expect((await buy(late, second.seatId)).json()).toMatchObject({ price: 45_000, balance: 155_000 })

    const paid = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'price'])
      .where('schedule_id', '=', scheduleId)
      .orderBy('id')
      .execute()
    expect(paid).toEqual([
      { account_id: early, price: 40_000 },
      { account_id: late, price: 45_000 },
    ])
    expect([await balanceOf(early), await balanceOf(late)]).toEqual([160_000, 155_000])
    await expectInvariants(env)
  })
})

describe('shows', () => {
  let venueId: number
  beforeAll(async () => {
    venueId = (await createVenue(app, 'Show Hall', { seats: 6 })).id
  })

  it('adds a show in the venue’s local time; the event’s dates follow its shows; a second show at the same time is 409', async () => {
    const eventId = await createEvent(app, venueId, 'Show Dates')
    const added = await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, {
      date: '2031-07-15',
      startTime: '19:00:00',
      endTime: '21:30:00',
    })
    expect(added.status).toBe(201)
    expect(added.body).toEqual({
      scheduleId: expect.any(Number),
      eventId,
      date: '2031-07-15',
      startTime: '19:00:00',
      endTime: '21:30:00',
      timeZone: 'Asia/Seoul',
      startsAt: '2031-07-15T10:00:00.000Z',
      seatsSold: 0,
    })
    await addShow(app, eventId, { date: '2031-07-01', startTime: '15:00:00' })
    await addShow(app, eventId, { date: '2031-07-20', startTime: '15:00:00' })
    expect((await admin(app, 'GET', `/v1/admin/events/${eventId}`)).body).toMatchObject({
      startDate: '2031-07-01',
      endDate: '2031-07-20',
    })
    const again = await admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, {
      date: '2031-07-15',
      startTime: '19:00:00',
    })
    expect(again.body).toMatchObject({ status: 409, code: 'SCHEDULE_EXISTS' })
    const unknown = await admin(app, 'POST', '/v1/admin/events/999999/schedules', {
      date: '2031-07-15',
      startTime: '19:00:00',
    })
    expect(unknown.body).toMatchObject({ status: 404, code: 'EVENT_NOT_FOUND' })
  })

  it('20 parallel additions keep the event’s first and last date exact; 10 of one slot give one show', async () => {
    const eventId = await createEvent(app, venueId, 'Parallel Shows')
    const dates = Array.from({ length: 20 }, (_, i) => `2032-03-${String(i + 5).padStart(2, '0')}`)
    const added = await Promise.all(
      dates.map((date) =>
        admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, { date, startTime: '19:00:00' }),
      ),
    )
    expect(added.map((r) => r.status)).toEqual(dates.map(() => 201))
    const event = await env.db
      .selectFrom('EVENT')
      .selectAll()
      .where('id', '=', eventId)
      .executeTakeFirstOrThrow()
    expect([event.start_date, event.end_date]).toEqual(['2032-03-05', '2032-03-24'])

    const same = await Promise.all(
      Array.from({ length: 10 }, () =>
        admin(app, 'POST', `/v1/admin/events/${eventId}/schedules`, {
          date: '2032-04-01',
          startTime: '18:00:00',
        }),
      ),
    )
    expect(same.filter((r) => r.status === 201)).toHaveLength(1)
    expect(same.filter((r) => r.status === 409 && r.body.code === 'SCHEDULE_EXISTS')).toHaveLength(9)
    const shows = await env.db
      .selectFrom('EVENT_SCHEDULE')
      .select('id')
      .where('event_id', '=', eventId)
      .execute()
    expect(shows).toHaveLength(21)
  })

  it('removes a show without sales (204, gone for fans); one with sales stays (409 SCHEDULE_HAS_SALES)', async () => {
    const eventId = await createEvent(app, venueId, 'Removals')
    const first = await addShow(app, eventId, { date: '2031-09-01', startTime: '19:00:00' })
    const sold = await addShow(app, eventId, { date: '2031-09-02', startTime: '19:00:00' })
    const last = await addShow(app, eventId, { date: '2031-09-03', startTime: '19:00:00' })
    const [fan] = (await insertAccounts(env.db, 1, { prefix: 'removal', balance: 500_000 })) as [string]
    const token = (await readyTokens(env, eventId, [fan])).get(fan) as string
    const seatId = (await admin(app, 'GET', `/v1/admin/venues/${venueId}`)).body.seats[0].seatId
    const sale = await app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: bearer(token),
      payload: { scheduleId: sold, seatId },
    })
    expect(sale.statusCode).toBe(201)

    const hasSales = await admin(app, 'DELETE', `/v1/admin/schedules/${sold}`)
    expect(hasSales.body).toMatchObject({ status: 409, code: 'SCHEDULE_HAS_SALES' })
    expect((await admin(app, 'DELETE', `/v1/admin/schedules/${last}`)).status).toBe(204)
    expect((await admin(app, 'DELETE', `/v1/admin/schedules/${last}`)).body.code).toBe('SCHEDULE_NOT_FOUND')
    const event = (await admin(app, 'GET', `/v1/admin/events/${eventId}`)).body
    expect(
      event.schedules.map((s: { scheduleId: number; seatsSold: number }) => [s.scheduleId, s.seatsSold]),
    ).toEqual([
      [first, 0],
      [sold, 1],
    ])
    expect([event.startDate, event.endDate]).toEqual(['2031-09-01', '2031-09-02'])

    // Fans no longer see it, and a stale seat-map link is a 404.
    const other = await readyTokens(env, eventId, [
      (await insertAccounts(env.db, 1, { prefix: 'removal-b' }))[0] as string,
    ])
    const otherToken = [...other.values()][0] as string
    const dates = (
      await app.inject({ method: 'GET', url: `/v1/events/${eventId}/schedules`, headers: bearer(otherToken) })
    ).json()
    expect(dates.map((d: { scheduleId: number }) => d.scheduleId)).toEqual([first, sold])
    const stale = await app.inject({
      method: 'GET',
      url: `/v1/schedules/${last}/seats`,
      headers: bearer(otherToken),
    })
    expect(stale.json()).toMatchObject({ status: 404, code: 'SCHEDULE_NOT_FOUND' })
  })

  it('a sale on a copy that still has the removed show cached is a 404 that moves no money, never a 500', async () => {
    const eventId = await createEvent(app, venueId, 'Stale Copy')
    const scheduleId = await addShow(app, eventId, { date: '2031-10-01', startTime: '19:00:00' })
    const copy = await buildAdminBooking(env)
    try {
      const [fan] = (await insertAccounts(env.db, 1, { prefix: 'stale', balance: 500_000 })) as [string]
      const token = (await readyTokens(env, eventId, [fan])).get(fan) as string
      const seatId = (await admin(app, 'GET', `/v1/admin/venues/${venueId}`)).body.seats[0].seatId
      // The other copy caches the show while drawing its seat map…
      const map = await copy.inject({
        method: 'GET',
        url: `/v1/schedules/${scheduleId}/seats`,
        headers: bearer(token),
      })
      expect(map.statusCode).toBe(200)
      // …this copy removes it…
      expect((await admin(app, 'DELETE', `/v1/admin/schedules/${scheduleId}`)).status).toBe(204)
      // …and the sale on the other copy finds it gone only at the INSERT (foreign key).
      const sale = await copy.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer(token),
        payload: { scheduleId, seatId },
      })
      expect(sale.statusCode).toBe(404)
      expect(sale.json()).toMatchObject({ code: 'SCHEDULE_NOT_FOUND' })
      expect(await balanceOf(fan)).toBe(500_000)
      expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('READY')
    } finally {
      await copy.close()
    }
  })

  it('removal racing a sale of the same show: exactly one wins, every time', async () => {
    const eventId = await createEvent(app, venueId, 'Race Removal')
    const copy = await buildAdminBooking(env)
    try {
      const seatId = (await admin(app, 'GET', `/v1/admin/venues/${venueId}`)).body.seats[1].seatId
      const fans = await insertAccounts(env.db, 24, { prefix: 'race-rm', balance: 500_000 })
      const tokens = await readyTokens(env, eventId, fans)
      const outcomes: string[] = []
      for (const [i, fan] of fans.entries()) {
        const scheduleId = await addShow(app, eventId, {
          date: `2031-11-${String(i + 1).padStart(2, '0')}`,
          startTime: '19:00:00',
        })
        const token = tokens.get(fan) as string
        await copy.inject({ method: 'GET', url: `/v1/schedules/${scheduleId}/seats`, headers: bearer(token) })
        // The removal starts 0..22 ms after the sale, so either may reach MySQL first.
        const [removal, sale] = await Promise.all([
          sleep((i % 12) * 2).then(() => admin(app, 'DELETE', `/v1/admin/schedules/${scheduleId}`)),
          copy.inject({
            method: 'POST',
            url: '/v1/reservations',
            headers: bearer(token),
            payload: { scheduleId, seatId },
          }),
        ])
        const exists = await env.db
          .selectFrom('EVENT_SCHEDULE')
          .select('id')
          .where('id', '=', scheduleId)
          .executeTakeFirst()
        const sold = await env.db
          .selectFrom('RESERVATION')
          .select('price')
          .where('schedule_id', '=', scheduleId)
          .execute()
        if (removal.status === 204) {
          expect(sale.statusCode).toBe(404)
          expect(sale.json().code).toBe('SCHEDULE_NOT_FOUND')
          expect(exists).toBeUndefined()
          expect(sold).toEqual([])
          expect(await balanceOf(fan)).toBe(500_000)
          outcomes.push('removed')
        } else {
          expect(removal.body.code).toBe('SCHEDULE_HAS_SALES')
          expect(sale.statusCode).toBe(201)
          expect(exists).toBeDefined()
          expect(sold).toHaveLength(1)
          expect(await balanceOf(fan)).toBe(500_000 - (sold[0]?.price ?? 0))
          outcomes.push('sold')
        }
      }
      expect(outcomes).toHaveLength(fans.length)
      await expectInvariants(env)
    } finally {
      await copy.close()
    }
  })
})

describe('OpenAPI', () => {
  it('documents the admin routes under their own tag with the admin bearer scheme', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(doc.components.securitySchemes.adminKey).toEqual({
      type: 'http',
      scheme: 'bearer',
      description: expect.any(String),
    })
    const routes: Array<[string, string]> = [
      ['/v1/admin/venues', 'post'],
      ['/v1/admin/venues/{venueId}', 'get'],
      ['/v1/admin/events', 'post'],
      ['/v1/admin/events/{eventId}', 'get'],
      ['/v1/admin/events/{eventId}', 'patch'],
      ['/v1/admin/events/{eventId}/schedules', 'post'],
      ['/v1/admin/schedules/{scheduleId}', 'delete'],
      ['/v1/admin/events/{eventId}/queue', 'get'],
      ['/v1/admin/events/{eventId}/queue', 'patch'],
      ['/v1/admin/reservations/{reservationId}/refund', 'post'],
    ]
    for (const [path, method] of routes) {
      const operation = doc.paths[path]?.[method]
      expect(operation, `${method} ${path}`).toBeDefined()
      expect(operation.tags, `${method} ${path}`).toEqual(['admin'])
      expect(operation.security, `${method} ${path}`).toEqual([{ adminKey: [] }])
      expect(Object.keys(operation.responses), `${method} ${path}`).toContain('401')
    }
    expect(doc.paths['/v1/admin/events'].post.requestBody).toBeDefined()
    expect(doc.paths['/v1/admin/events/{eventId}/queue'].patch.requestBody).toBeDefined()
    expect(doc.paths['/v1/admin/events/{eventId}/queue'].get.responses['200']).toBeDefined()
    // The list above is every admin operation, and only admin operations carry the tag or the scheme.
    const documented: Array<[string, string]> = []
    for (const [path, operations] of Object.entries(
      doc.paths as Record<string, Record<string, { tags?: string[]; security?: unknown[] }>>,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        const isAdmin = path.startsWith('/v1/admin/')
        expect(operation.tags?.includes('admin') ?? false, `${method} ${path}`).toBe(isAdmin)
        expect(JSON.stringify(operation.security ?? []).includes('adminKey'), `${method} ${path}`).toBe(
          isAdmin,
        )
        if (isAdmin) documented.push([path, method])
      }
    }
    expect(documented.sort()).toEqual([...routes].sort())
    expect(doc.tags).toContainEqual({ name: 'admin', description: expect.any(String) })
  })
})
