import type { Database, DbExecutor, EventUpdate, NewEvent } from '@concert/db'
import { sql, type Transaction } from 'kysely'

export async function insertEvent(db: DbExecutor, event: NewEvent): Promise<number> {
  const result = await db.insertInto('EVENT').values(event).executeTakeFirstOrThrow()
  return Number(result.insertId)
}

/** The event row with its venue's name and zone. */
export function findEventWithVenue(db: DbExecutor, id: number) {
  return db
    .selectFrom('EVENT as e')
    .innerJoin('VENUE as v', 'v.id', 'e.venue_id')
    .selectAll('e')
    .select(['v.name as venue_name', 'v.time_zone as venue_time_zone'])
    .where('e.id', '=', id)
    .executeTakeFirst()
}

/**
 * Locks the event row for the rest of the transaction. Every admin write to an event
 * or its shows takes this lock first, so they apply one at a time per event.
 */
export function lockEvent(trx: Transaction<Database>, id: number) {
  return trx.selectFrom('EVENT').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function updateEvent(db: DbExecutor, id: number, changes: EventUpdate): Promise<void> {
  if (Object.keys(changes).length === 0) return
  await db.updateTable('EVENT').set(changes).where('id', '=', id).execute()
}

/** start_date/end_date follow the event's shows: first and last show date, NULL without shows. */
export async function refreshEventDates(trx: Transaction<Database>, id: number): Promise<void> {
  await trx
    .updateTable('EVENT')
    .set({
      start_date: sql<string | null>`(SELECT MIN(s.date) FROM EVENT_SCHEDULE s WHERE s.event_id = ${id})`,
      end_date: sql<string | null>`(SELECT MAX(s.date) FROM EVENT_SCHEDULE s WHERE s.event_id = ${id})`,
    })
    .where('id', '=', id)
    .execute()
}

/** The event's purchase limits (SPEC §9), read fresh: an operator's change applies to the next order. */
export function findPurchaseLimits(db: DbExecutor, id: number) {
  return db
    .selectFrom('EVENT')
    .select(['max_seats_per_order as maxSeatsPerOrder', 'max_seats_per_account as maxSeatsPerAccount'])
    .where('id', '=', id)
    .executeTakeFirst()
}
