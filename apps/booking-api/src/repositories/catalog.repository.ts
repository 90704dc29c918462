import { type DbExecutor, type Param, prepare, preparedPerCount } from '@concert/db'
import { sql } from 'kysely'

/**
 * Events that have at least one show (an event's dates are NULL until it has one), with
 * what their sale's state follows from (saleStateAt).
 */
export function listEvents(db: DbExecutor) {
  return db
    .selectFrom('EVENT')
    .innerJoin('VENUE', 'VENUE.id', 'EVENT.venue_id')
    .leftJoin('QUEUE_EPOCH', 'QUEUE_EPOCH.event_id', 'EVENT.id')
    .select([
      'EVENT.id as id',
      'EVENT.title as title',
      'EVENT.start_date as startDate',
      'EVENT.end_date as endDate',
      'VENUE.id as venueId',
      'VENUE.name as venueName',
      'EVENT.opens_at as opensAt',
      'EVENT.closes_at as closesAt',
      'EVENT.pre_queue_minutes as preQueueMinutes',
      'EVENT.paused as paused',
      'QUEUE_EPOCH.sold_out as soldOut',
    ])
    .where('EVENT.start_date', 'is not', null)
    .where('EVENT.end_date', 'is not', null)
    .$narrowType<{ startDate: string; endDate: string }>()
    .orderBy('EVENT.start_date')
    .orderBy('EVENT.id')
    .execute()
}

/** The event's venue, its zone and its number of seats (venues keep their seats and zone for good). */
export function findEvent(db: DbExecutor, id: number) {
  return db
    .selectFrom('EVENT as e')
    .innerJoin('VENUE as venue', 'venue.id', 'e.venue_id')
    .select([
      'e.id as id',
      'e.venue_id as venueId',
      'venue.time_zone as timeZone',
      sql<number>`(SELECT COUNT(*) FROM VENUE_SEAT v WHERE v.venue_id = e.venue_id)`.as('totalSeats'),
    ])
    .where('e.id', '=', id)
    .executeTakeFirst()
}

/**
 * Shows of an event dated `fromDate` or later with their live (SOLD) seats, in one grouped
 * read of RESERVATION's (schedule_id, live_seat_id) index: a refunded seat is free again.
 */
export function listShowsWithSales(db: DbExecutor, eventId: number, fromDate: string) {
  return db
    .selectFrom('EVENT_SCHEDULE as s')
    .leftJoin('RESERVATION as r', 'r.schedule_id', 's.id')
    .select([
      's.id as scheduleId',
      's.date as date',
      's.start_time as startTime',
      's.end_time as endTime',
      (eb) => eb.fn.count<number | string>('r.live_seat_id').as('seatsSold'),
    ])
    .where('s.event_id', '=', eventId)
    .where('s.date', '>=', fromDate)
    .groupBy('s.id')
    .orderBy('s.date')
    .orderBy('s.start_time')
    .execute()
}

/**
 * The first free seat (no live reservation) of the show in seat-number order, at or after
 * `from` (`after`) or before it (`before`). A LEFT JOIN rather than NOT EXISTS: MariaDB
 * materialized that subquery, every live reservation of the show on every call; this
 * walks the venue's seat-number index and probes each seat's reservation by the UNIQUE
 * key, stopping at the first free one.
 */
const freeSeatStatement = (side: '>=' | '<') =>
  prepare((db, p: Param<{ scheduleId: number; from: string }>) =>
    db
      .selectFrom('EVENT_SCHEDULE as s')
      .innerJoin('EVENT as e', 'e.id', 's.event_id')
      .innerJoin('VENUE_SEAT as v', 'v.venue_id', 'e.venue_id')
      .leftJoin('RESERVATION as r', (join) =>
        join.onRef('r.schedule_id', '=', 's.id').onRef('r.live_seat_id', '=', 'v.id'),
      )
      .select('v.seat_number as seatNumber')
      .where('s.id', '=', p('scheduleId'))
      .where('v.seat_number', side, p('from'))
      .where('r.id', 'is', null)
      .orderBy('v.seat_number')
      .limit(1),
  )
const freeSeatStatements = { after: freeSeatStatement('>='), before: freeSeatStatement('<') }

/**
 * The statement of one side of `findFreeSeat` with its values (compiled once, prepare):
 * the bench's purchase floor runs it bare, so it measures this very SQL.
 */
export function freeSeatQuery(side: 'after' | 'before', scheduleId: number, from: string) {
  return freeSeatStatements[side].compile({ scheduleId, from })
}

/**
 * A free seat of the show (its seat number), or undefined when it has none. The search
 * starts at `from` (in seat-number order, as text) and wraps around to the seats before
 * it. A caller that starts at the free seat it found last (SaleService) mostly finds that
 * one still free, or walks over the seats sold since, instead of over every sold seat on
 * every sale (the NOT EXISTS it replaces read them all, 5,000 index rows at 3,000 sold).
 */
export async function findFreeSeat(
  db: DbExecutor,
  scheduleId: number,
  from = '',
): Promise<string | undefined> {
  const after = await freeSeatStatements.after.run(db, { scheduleId, from })
  if (after.rows[0]) return after.rows[0].seatNumber
  if (from === '') return undefined
  const before = await freeSeatStatements.before.run(db, { scheduleId, from })
  return before.rows[0]?.seatNumber
}

export function findSchedule(db: DbExecutor, id: number) {
  return db
    .selectFrom('EVENT_SCHEDULE as s')
    .innerJoin('EVENT as e', 'e.id', 's.event_id')
    .innerJoin('VENUE as venue', 'venue.id', 'e.venue_id')
    .select([
      's.id as id',
      's.event_id as eventId',
      'e.venue_id as venueId',
      's.date as date',
      's.start_time as startTime',
      'venue.time_zone as timeZone',
    ])
    .where('s.id', '=', id)
    .executeTakeFirst()
}

/** Every seat of the schedule's venue with this event's price for its type, in seat-number order. */
export function listPricedSeats(db: DbExecutor, eventId: number, venueId: number) {
  return db
    .selectFrom('VENUE_SEAT as v')
    .leftJoin('SEAT_PRICE as p', (join) =>
      join.onRef('p.seat_type', '=', 'v.seat_type').on('p.event_id', '=', eventId),
    )
    .select([
      'v.id as seatId',
      'v.seat_number as seatNumber',
      'v.area as area',
      'v.seat_type as seatType',
      'p.price as price',
    ])
    .where('v.venue_id', '=', venueId)
    .orderBy(sql`CAST(v.seat_number AS UNSIGNED)`)
    .orderBy('v.seat_number')
    .execute()
}

/**
 * Seats sold at the schedule: SOLD rows only (live_seat_id is NULL once refunded), so a
 * refunded seat shows as free; read from the (schedule_id, live_seat_id) index alone.
 */
export async function reservedSeatIds(db: DbExecutor, scheduleId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('RESERVATION')
    .select('live_seat_id')
    .where('schedule_id', '=', scheduleId)
    .where('live_seat_id', 'is not', null)
    .$narrowType<{ live_seat_id: number }>()
    .execute()
  return rows.map((r) => Number(r.live_seat_id))
}

/** The priced seats of one order size; the seat ids are named `seat<i>`. */
const pricedSeatsStatement = preparedPerCount(
  (count) => (db, p: Param<Record<string, number>>) =>
    db
      .selectFrom('VENUE_SEAT as v')
      .innerJoin('SEAT_PRICE as p', (join) =>
        join.onRef('p.seat_type', '=', 'v.seat_type').on('p.event_id', '=', p('eventId')),
      )
      .innerJoin('EVENT as e', 'e.id', 'p.event_id')
      .select([
        'v.id as seatId',
        'v.seat_number as seatNumber',
        'p.price as price',
        'e.max_seats_per_order as maxSeatsPerOrder',
        'e.max_seats_per_account as maxSeatsPerAccount',
      ])
      .where(
        'v.id',
        'in',
        Array.from({ length: count }, (_, i) => p(`seat${i}`)),
      )
      .where('v.venue_id', '=', p('venueId'))
      .orderBy('v.id'),
)

/**
 * Those of `seatIds` that are seats of the venue with this event's price for their type, by
 * ascending id, each with the event's purchase limits (SPEC §9): one read gives an order
 * its fresh prices and limits (an operator's change applies to the next order).
 */
export async function findPricedSeats(
  db: DbExecutor,
  eventId: number,
  venueId: number,
  seatIds: readonly number[],
) {
  const values: Record<string, number> = { eventId, venueId }
  seatIds.forEach((id, i) => {
    values[`seat${i}`] = id
  })
  return (await pricedSeatsStatement(seatIds.length).run(db, values)).rows
}
