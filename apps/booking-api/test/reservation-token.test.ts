import type { App } from '@concert/http'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

/*
 * POST /v1/reservations checks its queue token in begin-purchase, the Redis step that
 * claims it, instead of in the guard's own round trip before it. These tests pin down
 * that every answer is still the guard's, in the guard's order, and that a purchase and
 * a hot seat's loser make no separate token check.
 */

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>
let scheduleId: number
let otherScheduleId: number

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  scheduleId = (catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }).id
  otherScheduleId = (catalog.schedules.find((s) => s.event_id === catalog.otherEventId) as { id: number }).id
  await insertAccounts(env.db, 6, { prefix: 't', balance: 1_000_000 })
  app = await buildBooking(env)
})
afterAll(async () => {
  await app?.close()
})

const reserve = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { ...bearer(token), ...headers },
    payload: body,
  })

describe('POST /v1/reservations checks its token in begin-purchase', () => {
  it('answers every bad token as the guard does, before any fault of the seats, and changes nothing', async () => {
    const tokens = await readyTokens(env, catalog.eventId, ['t-1', 't-2'])
    const ready = tokens.get('t-1') as string
    const spent = tokens.get('t-2') as string
    const [seat, secondSeat] = catalog.seats.map((s) => ({ id: s.id })) as [{ id: number }, { id: number }]
    // t-2 pays once, so its token is spent (EXPIRED, COMPLETED).
    expect((await reserve(spent, { scheduleId, seatId: seat.id })).statusCode).toBe(201)
    const waitingEvent = await createEvent(env.db, 'reserve waiting')
    const waiting = (await fastQueue(env).join(waitingEvent, 't-3')).ticket.token
    const unknown = `${catalog.eventId}.AAAAAAAAAAAAAAAAAAAAAA`
    const free = { scheduleId, seatId: secondSeat.id }
    const noSuchSeat = { scheduleId, seatId: 999_999 }
    const noSuchShow = { scheduleId: 999_999, seatId: secondSeat.id }
    const tooMany = { scheduleId, seatIds: catalog.seats.slice(1, 40).map((s) => s.id) }

    const cases: Array<[string, string, Record<string, unknown>, number, string]> = [
      ['garbage', 'garbage', free, 401, 'TOKEN_INVALID'],
      ['unknown', unknown, free, 401, 'TOKEN_INVALID'],
      ['unknown, unknown seat', unknown, noSuchSeat, 401, 'TOKEN_INVALID'],
      ['unknown, unknown show', unknown, noSuchShow, 401, 'TOKEN_INVALID'],
      ['unknown, too many seats', unknown, tooMany, 401, 'TOKEN_INVALID'],
      ['waiting', waiting, free, 403, 'TOKEN_NOT_READY'],
      ['waiting, unknown seat', waiting, noSuchSeat, 403, 'TOKEN_NOT_READY'],
      ['spent', spent, free, 401, 'TOKEN_EXPIRED'],
      ['spent, a sold seat', spent, { scheduleId, seatId: seat.id }, 401, 'TOKEN_EXPIRED'],
      ['spent, unknown seat', spent, noSuchSeat, 401, 'TOKEN_EXPIRED'],
      [
        'another event’s show',
        ready,
        { scheduleId: otherScheduleId, seatId: secondSeat.id },
        403,
        'TOKEN_SCOPE_MISMATCH',
      ],
      ['ready, unknown show', ready, noSuchShow, 404, 'SCHEDULE_NOT_FOUND'],
      ['ready, unknown seat', ready, noSuchSeat, 404, 'SEAT_NOT_FOUND'],
      ['ready, too many seats', ready, tooMany, 409, 'ORDER_TOO_LARGE'],
      ['ready, a sold seat', ready, { scheduleId, seatId: seat.id }, 409, 'SEAT_ALREADY_RESERVED'],
    ]
    for (const [name, token, body, status, code] of cases) {
      const response = await reserve(token, body)
      expect({ name, status: response.statusCode, code: response.json().code }).toEqual({
        name,
        status,
        code,
      })
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    }

    // Nothing was sold but t-2's seat; t-1's token is still READY and buys afterwards.
    const sold = await env.db.selectFrom('RESERVATION').select(['account_id', 'seat_id']).execute()
    expect(sold).toEqual([{ account_id: 't-2', seat_id: seat.id }])
    expect((await reserve(ready, free)).statusCode).toBe(201)
    await expectInvariants(env)
  })

  it('makes no separate token check for a purchase or a loser of its seat; a replay by key checks first', async () => {
    const tokens = await readyTokens(env, catalog.eventId, ['t-4', 't-5', 't-6'])
    const seat = catalog.seats[10] as { id: number }
    const verify = vi.spyOn(app.queue, 'verify')
    try {
      const bought = await reserve(tokens.get('t-4') as string, { scheduleId, seatId: seat.id })
      expect(bought.statusCode).toBe(201)
      const lost = await reserve(tokens.get('t-5') as string, { scheduleId, seatId: seat.id })
      expect(lost.json()).toMatchObject({ code: 'SEAT_ALREADY_RESERVED', seatIds: [seat.id] })
      expect(verify).not.toHaveBeenCalled()

      // With an Idempotency-Key the account is needed before the claim (a replay): one check.
      const key = { 'idempotency-key': 'reserve-token-test-1' }
      const first = await reserve(
        tokens.get('t-6') as string,
        { scheduleId, seatId: (catalog.seats[11] as { id: number }).id },
        key,
      )
      expect(first.statusCode).toBe(201)
      expect(verify).toHaveBeenCalledTimes(1)
      const again = await reserve(
        tokens.get('t-6') as string,
        { scheduleId, seatId: (catalog.seats[11] as { id: number }).id },
        key,
      )
      expect(again.statusCode).toBe(201)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.json()).toEqual(first.json())
    } finally {
      verify.mockRestore()
    }
    await expectInvariants(env)
  })
})
