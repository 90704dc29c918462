import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, readyTokens } from './helpers.js'

// The booking API's tunables reach what they tune: built with a setting, the app behaves by it.
const env = useTestEnv()
let catalog: Awaited<ReturnType<typeof seedCatalog>>

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
})

describe('booking tunables from the environment', () => {
  it('CATALOG_CACHE_MS decides how long a seat map shows a priced layout it already read', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'tune' })
    const token = (await readyTokens(env, catalog.eventId, [fan as string])).get(fan as string) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }
    const caching = await buildBooking(env)
    const uncached = await buildBooking(env, { CATALOG_CACHE_MS: '0' })
    const priceOfFirstSeat = async (app: typeof caching) => {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/schedules/${schedule.id}/seats`,
        headers: bearer(token),
      })
      expect(response.statusCode).toBe(200)
      const [seat] = response.json().seats as Array<{ seatType: string; price: number }>
      return seat as { seatType: string; price: number }
    }
    try {
      const before = await priceOfFirstSeat(caching)
      expect((await priceOfFirstSeat(uncached)).price).toBe(before.price)
      await env.db
        .updateTable('SEAT_PRICE')
        .set({ price: before.price + 1_000 })
        .where('event_id', '=', catalog.eventId)
        .where('seat_type', '=', before.seatType)
        .execute()
      expect((await priceOfFirstSeat(caching)).price).toBe(before.price)
      expect((await priceOfFirstSeat(uncached)).price).toBe(before.price + 1_000)
    } finally {
      await caching.close()
      await uncached.close()
    }
  })
})
