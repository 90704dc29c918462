import type { App } from '@concert/http'
import { insertAccounts, scriptCalls, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addShow, buildAdminBooking, createEvent, createVenue } from './admin-helpers.js'
import { bearer, fastQueue, readyTokens } from './helpers.js'

// A private redis-server: the test counts the scripts the server runs.
const env = useTestEnv({ privateRedis: true })
let app: App
let show: number
let tokens: Map<string, string>
let accounts: string[]

beforeAll(async () => {
  app = await buildAdminBooking(env)
  const venue = await createVenue(app, 'Batch Hall', { seats: 4 })
  const eventId = await createEvent(app, venue.id, 'Batch Tour', { VIP: 100_000, R: 50_000 })
  show = await addShow(app, eventId, { date: '2031-06-01', startTime: '19:00:00' })
  accounts = await insertAccounts(env.db, 60, { prefix: 'batch', balance: 1_000_000 })
  tokens = await readyTokens(env, eventId, accounts)
})

afterAll(async () => {
  await app?.close()
})

const seatMap = (token: string) =>
  app.inject({ method: 'GET', url: `/v1/schedules/${show}/seats`, headers: bearer(token) })

describe('token checks of one event, made together', () => {
  it('200 parallel seat maps with 60 tokens cost a few scripts, and a spent token among them is still refused', async () => {
    const ready = accounts.map((id) => tokens.get(id) as string)
    // One token spent (left the queue), one not READY yet: each must get its own answer.
    const queue = fastQueue(env)
    await queue.leave(ready[7] as string)
    await seatMap(ready[0] as string) // the show's map cached: the requests below only check tokens

    const before = await scriptCalls(env.redis)
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => seatMap(ready[i % 60] as string)))
    const calls = (await scriptCalls(env.redis)) - before
    expect(calls).toBeGreaterThanOrEqual(1)
    expect(calls).toBeLessThanOrEqual(4)

    answers.forEach((response, i) => {
      if (i % 60 === 7) {
        expect(response.statusCode).toBe(401)
        expect(response.json()).toMatchObject({ code: 'TOKEN_EXPIRED' })
      } else {
        expect(response.statusCode, response.body).toBe(200)
        expect(response.json().seats).toHaveLength(4)
      }
    })
    // A token that is not a token, and one of no event, in a burst with good ones.
    const mixed = await Promise.all([
      seatMap(ready[1] as string),
      seatMap('nonsense'),
      seatMap('999999.AAAAAAAAAAAAAAAAAAAAAA'),
      seatMap(ready[2] as string),
    ])
    expect(mixed.map((response) => response.statusCode)).toEqual([200, 401, 401, 200])
  })
})
