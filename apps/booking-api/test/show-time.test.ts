import type { App } from '@concert/http'
import { accountBalance, insertAccounts, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CatalogService, isOnSale } from '../src/services/catalog.service.js'
import { canonicalTimeZone, showStartsAt } from '../src/show-time.js'
import { addShow, admin, buildAdminBooking, createEvent, createVenue, wallClock } from './admin-helpers.js'
import { bearer, fastQueue, readyTokens } from './helpers.js'

// SPEC §7: a show's date and start time are wall-clock times in its venue's zone, and it is
// listed and sellable until it starts there. Zones far from UTC make "today in UTC" wrong.
const env = useTestEnv()
let app: App

beforeAll(async () => {
  app = await buildAdminBooking(env)
})
afterAll(async () => {
  await app?.close()
})

const MINUTE = 60_000

/** A venue in `zone`, an event there, a show that started a minute ago and one that starts in a minute. */
async function showsAroundNow(zone: string) {
  const venue = await createVenue(app, `Hall in ${zone}`, { seats: 6, timeZone: zone })
  const eventId = await createEvent(app, venue.id, `Around now in ${zone}`)
  const started = await addShow(app, eventId, wallClock(zone, -MINUTE))
  const upcoming = await addShow(app, eventId, wallClock(zone, MINUTE))
  const [fan] = (await insertAccounts(env.db, 1, {
    prefix: zone.replace(/\W/g, ''),
    balance: 1_000_000,
  })) as [string]
  const token = (await readyTokens(env, eventId, [fan])).get(fan) as string
  return { venue, eventId, started, upcoming, fan, token }
}

const listedShows = async (eventId: number, token: string) =>
  (
    (
      await app.inject({ method: 'GET', url: `/v1/events/${eventId}/schedules`, headers: bearer(token) })
    ).json() as Array<{
      scheduleId: number
    }>
  ).map((show) => show.scheduleId)

const reserve = (token: string, scheduleId: number, seatId: number) =>
  app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId, seatId },
  })

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('shows are on sale until they start in their venue’s zone', () => {
  it('Pacific/Kiritimati (UTC+14): a show that started a minute ago is neither listed nor sold; one a minute ahead is both', async () => {
    const { venue, eventId, started, upcoming, fan, token } = await showsAroundNow('Pacific/Kiritimati')
    expect(await listedShows(eventId, token)).toEqual([upcoming])

    const seatId = venue.seats[0]?.seatId as number
    const late = await reserve(token, started, seatId)
    expect(late.statusCode).toBe(404)
    expect(late.json()).toMatchObject({
      code: 'SCHEDULE_NOT_FOUND',
      detail: expect.stringMatching(/started at .* \(Pacific\/Kiritimati\); it is not on sale/),
    })
    expect(await balanceOf(fan)).toBe(1_000_000)
    expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('READY')

    const sale = await reserve(token, upcoming, seatId)
    expect(sale.statusCode).toBe(201)
    expect(sale.json()).toMatchObject({ scheduleId: upcoming, balance: 1_000_000 - sale.json().price })
  })

  it('Pacific/Pago_Pago (UTC−11): the same two shows, listed by their local start', async () => {
    const { venue, eventId, started, upcoming, fan, token } = await showsAroundNow('Pacific/Pago_Pago')
    expect(await listedShows(eventId, token)).toEqual([upcoming])
    const seatId = venue.seats[0]?.seatId as number
    expect((await reserve(token, started, seatId)).json().code).toBe('SCHEDULE_NOT_FOUND')
    expect(await balanceOf(fan)).toBe(1_000_000)

    // The catalogue's own sale check passes the upcoming show and stops the started one.
    const catalog = new CatalogService(env.db, env.redis, env.keyPrefix, {
      catalogCacheMs: 0,
      seatMapCacheMs: 0,
    })
    const ahead = await catalog.schedule(upcoming)
    expect(await catalog.seatsForSale(ahead, [seatId])).toMatchObject([{ seatId }])
    await expect(catalog.seatsForSale(await catalog.schedule(started), [seatId])).rejects.toMatchObject({
      code: 'SCHEDULE_NOT_FOUND',
    })

    // And the show that starts in a minute sells, whatever the UTC date says.
    const sale = await reserve(token, upcoming, seatId)
    expect(sale.statusCode).toBe(201)
    expect(sale.json()).toMatchObject({ scheduleId: upcoming, balance: 1_000_000 - sale.json().price })
  })

  it('the admin API reports each show’s start as a UTC instant', async () => {
    const { eventId, upcoming } = await showsAroundNow('America/St_Johns')
    const event = (await admin(app, 'GET', `/v1/admin/events/${eventId}`)).body
    const show = event.schedules.find((s: { scheduleId: number }) => s.scheduleId === upcoming)
    // Created at now + 1 min in that zone, to the second.
    expect(Math.abs(Date.parse(show.startsAt) - (Date.now() + MINUTE))).toBeLessThan(5_000)
  })
})

describe('isOnSale', () => {
  const seoul = { date: '2026-12-24', startTime: '19:00:00', timeZone: 'Asia/Seoul' }

  it('a 19:00 Seoul show sells until 19:00 Seoul time (10:00 UTC), not until the UTC day ends', () => {
    expect(isOnSale(seoul, new Date('2026-12-24T09:59:59.999Z'))).toBe(true)
    expect(isOnSale(seoul, new Date('2026-12-24T10:00:00.000Z'))).toBe(false)
    // 08:00 the next morning in Seoul is still 24 December in UTC: the show is over all the same.
    expect(isOnSale(seoul, new Date('2026-12-24T23:00:00Z'))).toBe(false)
  })

  it('follows summer time; a start the clocks skip moves forward by the gap, a repeated one is the first', () => {
    // New York springs forward at 02:00 on 9 March 2031: 02:30 does not exist, it reads as 03:30 EDT.
    expect(showStartsAt({ date: '2031-03-09', startTime: '02:30:00', timeZone: 'America/New_York' })).toEqual(
      new Date('2031-03-09T07:30:00Z'),
    )
    // …and falls back at 02:00 on 2 November 2031: 01:30 happens twice, the show is at the first (EDT).
    expect(showStartsAt({ date: '2031-11-02', startTime: '01:30:00', timeZone: 'America/New_York' })).toEqual(
      new Date('2031-11-02T05:30:00Z'),
    )
    expect(showStartsAt({ date: '2031-07-01', startTime: '20:00:00', timeZone: 'America/New_York' })).toEqual(
      new Date('2031-07-02T00:00:00Z'),
    )
    expect(showStartsAt({ date: '2031-01-01', startTime: '20:00:00', timeZone: 'America/New_York' })).toEqual(
      new Date('2031-01-02T01:00:00Z'),
    )
  })

  it('knows IANA zones by their canonical names and refuses anything else', () => {
    expect(canonicalTimeZone('asia/seoul')).toBe('Asia/Seoul')
    expect(canonicalTimeZone('UTC')).toBe('UTC')
    expect(canonicalTimeZone('Pacific/Kiritimati')).toBe('Pacific/Kiritimati')
    for (const bad of [
      'Mars/Olympus',
      '+09:00',
      'UTC+9',
      '',
      ' Asia/Seoul',
      'Asia/Seoul\n',
      'x'.repeat(65),
    ]) {
      expect(canonicalTimeZone(bad), bad).toBeUndefined()
    }
  })
})
