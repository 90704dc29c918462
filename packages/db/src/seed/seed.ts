import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from '../database.js'
import { openAccounts } from '../opening-balance.js'
import { DEMO_ACCOUNTS, DEMO_EVENTS, DEMO_SEATS, DEMO_VENUE } from './demo-data.js'

export interface SeedSummary {
  venues: number
  seats: number
  events: number
  schedules: number
  prices: number
  accounts: number
}

/** 'YYYY-MM-DD' of `base` plus `days`, in UTC. */
export function isoDate(base: Date, days = 0): string {
  const date = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate() + days))
  return date.toISOString().slice(0, 10)
}

// An ON DUPLICATE KEY no-op: the row counts as inserted only when it was new.
const keepExisting = { id: sql<number>`id` }

async function upsertVenue(trx: Transaction<Database>) {
  const result = await trx
    .insertInto('VENUE')
    .values(DEMO_VENUE)
    .onDuplicateKeyUpdate(keepExisting)
    .executeTakeFirst()
  const venue = await trx
    .selectFrom('VENUE')
    .select('id')
    .where('name', '=', DEMO_VENUE.name)
    .executeTakeFirstOrThrow()
  return { venueId: venue.id, inserted: Number(result.numInsertedOrUpdatedRows ?? 0) }
}

/**
 * Writes the demo data of SPEC §6. Every row is keyed by a natural unique key (venue
 * name, event seed key, seat number, show date and time, account id) and left alone
 * when present, so running it again the same day changes nothing; on a later day it
 * only adds the shows that are now "upcoming".
 */
export async function seedDemoData(db: Kysely<Database>, today: Date = new Date()): Promise<SeedSummary> {
  return db.transaction().execute(async (trx) => {
    const summary: SeedSummary = { venues: 0, seats: 0, events: 0, schedules: 0, prices: 0, accounts: 0 }
    const { venueId, inserted } = await upsertVenue(trx)
    summary.venues += inserted

    const seats = await trx
      .insertInto('VENUE_SEAT')
      .values(
        DEMO_SEATS.map((s) => ({
          venue_id: venueId,
          seat_number: s.seatNumber,
          area: s.area,
          seat_type: s.seatType,
        })),
      )
      .onDuplicateKeyUpdate(keepExisting)
      .executeTakeFirst()
    summary.seats += Number(seats.numInsertedOrUpdatedRows ?? 0)

    for (const demo of DEMO_EVENTS) {
      const dates = demo.dayOffsets.map((offset) => isoDate(today, offset))
      const event = await trx
        .insertInto('EVENT')
        .values({
          seed_key: demo.seedKey,
          title: demo.title,
          description: demo.description,
          venue_id: venueId,
          start_date: dates[0] ?? isoDate(today),
          end_date: dates.at(-1) ?? isoDate(today),
        })
        .onDuplicateKeyUpdate(keepExisting)
        .executeTakeFirst()
      summary.events += Number(event.numInsertedOrUpdatedRows ?? 0)
      const { id: eventId } = await trx
        .selectFrom('EVENT')
        .select('id')
        .where('seed_key', '=', demo.seedKey)
        .executeTakeFirstOrThrow()

      const schedules = await trx
        .insertInto('EVENT_SCHEDULE')
        .values(
          dates.map((date) => ({
            event_id: eventId,
            date,
            start_time: demo.startTime,
            end_time: demo.endTime,
          })),
        )
        .onDuplicateKeyUpdate(keepExisting)
        .executeTakeFirst()
      summary.schedules += Number(schedules.numInsertedOrUpdatedRows ?? 0)

      const prices = await trx
        .insertInto('SEAT_PRICE')
        .values(
          Object.entries(demo.prices).map(([seatType, price]) => ({
            event_id: eventId,
            seat_type: seatType,
            price,
          })),
        )
        .onDuplicateKeyUpdate(keepExisting)
        .executeTakeFirst()
      summary.prices += Number(prices.numInsertedOrUpdatedRows ?? 0)
    }

    const demoIds = DEMO_ACCOUNTS.map((account) => account.id)
    const existing = await trx.selectFrom('ACCOUNT').select('id').where('id', 'in', demoIds).execute()
    const present = new Set(existing.map((row) => row.id))
    const missing = DEMO_ACCOUNTS.filter((account) => !present.has(account.id))
    // The opening balance is a CHARGE in the ledger, so balance = sum(history) from the first row.
    await openAccounts(trx, missing)
    summary.accounts += missing.length
    return summary
  })
}
