import type { DbExecutor } from '@concert/db'

export async function insertReservation(
  db: DbExecutor,
  reservation: { scheduleId: number; seatId: number; accountId: string; price: number; reservedAt: Date },
): Promise<number> {
  const result = await db
    .insertInto('RESERVATION')
    .values({
      schedule_id: reservation.scheduleId,
      seat_id: reservation.seatId,
      account_id: reservation.accountId,
      price: reservation.price,
      reserved_at: reservation.reservedAt,
    })
    .executeTakeFirstOrThrow()
  return Number(result.insertId)
}

export async function isSeatReserved(db: DbExecutor, scheduleId: number, seatId: number): Promise<boolean> {
  const row = await db
    .selectFrom('RESERVATION')
    .select('id')
    .where('schedule_id', '=', scheduleId)
    .where('seat_id', '=', seatId)
    .executeTakeFirst()
  return row !== undefined
}

const reservationView = (db: DbExecutor) =>
  db
    .selectFrom('RESERVATION as r')
    .innerJoin('EVENT_SCHEDULE as s', 's.id', 'r.schedule_id')
    .innerJoin('EVENT as e', 'e.id', 's.event_id')
    .innerJoin('VENUE_SEAT as v', 'v.id', 'r.seat_id')
    .select([
      'r.id as reservationId',
      'r.account_id as accountId',
      'r.schedule_id as scheduleId',
      's.event_id as eventId',
      'e.title as eventTitle',
      's.date as date',
      's.start_time as startTime',
      'r.seat_id as seatId',
      'v.seat_number as seatNumber',
      'v.area as area',
      'v.seat_type as seatType',
      'r.price as price',
      'r.reserved_at as reservedAt',
    ])

export function listReservationsOf(db: DbExecutor, accountId: string) {
  return reservationView(db).where('r.account_id', '=', accountId).orderBy('r.id').execute()
}

export function findReservationView(db: DbExecutor, id: number) {
  return reservationView(db).where('r.id', '=', id).executeTakeFirst()
}
