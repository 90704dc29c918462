import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { runPurchaseFloor } from '../../../scripts/bench/purchase-floor.js'
import { expectInvariants, readyTokens } from './helpers.js'

/*
 * `pnpm bench`'s purchase floor (scripts/bench/purchase-floor.ts), run small: it replays
 * one purchase's Redis scripts and SQL bare, writing QUEUE_TOKEN only through the
 * statements packages/queue's repository builds. Its purchases must be real ones
 * (money, seats and tokens as the booking API leaves them), or the bench divides by
 * the cost of something else; and a change to the purchase path that the floor no
 * longer matches fails here, not only in a long bench run.
 */

const env = useTestEnv()

describe('the purchase floor', () => {
  it('sells each seat once, pays once, and leaves every token COMPLETED in QUEUE_TOKEN', async () => {
    const { eventId, schedules, seats } = await seedCatalog(env.db)
    const event = await env.db
      .selectFrom('EVENT')
      .select(['id', 'venue_id'])
      .where('id', '=', eventId)
      .executeTakeFirstOrThrow()
    const schedule = schedules.find((row) => row.event_id === eventId)
    if (!schedule) throw new Error('no show of the event')
    const seatIds = seats.filter((seat) => seat.venue_id === event.venue_id).map((seat) => seat.id)
    const accounts = await insertAccounts(env.db, 4, { prefix: 'floor', balance: 1_000_000 })
    const tokens = await readyTokens(env, eventId, accounts)

    const result = await runPurchaseFloor({
      mysqlUrl: env.mysqlUrl,
      redisUrl: env.redisUrl,
      prefix: env.keyPrefix,
      poolSize: 2,
      concurrency: 2,
      eventId,
      venueId: event.venue_id,
      scheduleId: schedule.id,
      purchases: accounts.map((accountId, i) => ({
        accountId,
        token: tokens.get(accountId) ?? '',
        seatId: seatIds[i] ?? 0,
      })),
    })
    expect({ purchases: result.purchases, failures: result.failures }).toEqual({ purchases: 4, failures: 0 })

    const sold = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'seat_id', 'status'])
      .where('schedule_id', '=', schedule.id)
      .orderBy('account_id')
      .execute()
    expect(sold).toEqual(
      accounts.map((accountId, i) => ({ account_id: accountId, seat_id: seatIds[i], status: 'SOLD' })),
    )
    const rows = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['account_id', 'status', 'reason'])
      .where('event_id', '=', eventId)
      .orderBy('account_id')
      .execute()
    expect(rows).toEqual(
      accounts.map((accountId) => ({ account_id: accountId, status: 'EXPIRED', reason: 'COMPLETED' })),
    )
    await expectInvariants(env)
  })
})
