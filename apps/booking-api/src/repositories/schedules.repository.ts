import type { DbExecutor } from '@concert/db'
import { sql } from 'kysely'

export async function insertSchedule(
  db: DbExecutor,
  show: { eventId: number; date: string; startTime: string; endTime: string | null },
): Promise<number> {
  const result = await db
    .insertInto('EVENT_SCHEDULE')
    .values({ event_id: show.eventId, date: show.date, start_time: show.startTime, end_time: show.endTime })
    .executeTakeFirstOrThrow()
  return Number(result.insertId)
}

/**
 * False when there was no such show. RESERVATION's foreign key refuses it while the show has
 * sales, refunded ones included (their ledger rows point at them).
 */
export async function deleteSchedule(db: DbExecutor, id: number): Promise<boolean> {
  const result = await db.deleteFrom('EVENT_SCHEDULE').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

const showView = (db: DbExecutor) =>
  db
    .selectFrom('EVENT_SCHEDULE as s')
    .innerJoin('EVENT as e', 'e.id', 's.event_id')
    .innerJoin('VENUE as v', 'v.id', 'e.venue_id')
    .select([
      's.id as scheduleId',
      's.event_id as eventId',
      's.date as date',
      's.start_time as startTime',
      's.end_time as endTime',
      'v.time_zone as timeZone',
      // Live sales only: a refunded seat is on sale again.
      sql<number>`(SELECT COUNT(*) FROM RESERVATION r WHERE r.schedule_id = s.id AND r.status = 'SOLD')`.as(
        'seatsSold',
      ),
    ])

export function findShow(db: DbExecutor, id: number) {
  return showView(db).where('s.id', '=', id).executeTakeFirst()
}

export function listShowsOfEvent(db: DbExecutor, eventId: number) {
  return showView(db).where('s.event_id', '=', eventId).orderBy('s.date').orderBy('s.start_time').execute()
}
