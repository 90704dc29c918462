import { type Database, type DbExecutor, type Param, prepare } from '@concert/db'
import { type QueryCreator, sql, type Transaction } from 'kysely'

/**
 * RESERVATION's one writer. Rows of one order share `order_id` (the id of its first
 * row); a sale is SOLD until refunded, and only SOLD rows hold their seat.
 */

const insertReservationStatement = prepare(
  (
    db,
    p: Param<{
      scheduleId: number
      seatId: number
      accountId: string
      price: number
      reservedAt: Date
      orderId: number | null
    }>,
  ) =>
    db.insertInto('RESERVATION').values({
      schedule_id: p('scheduleId'),
      seat_id: p('seatId'),
      account_id: p('accountId'),
      price: p('price'),
      reserved_at: p('reservedAt'),
      order_id: p('orderId'),
    }),
)

const setOrderStatement = prepare((db, p: Param<{ id: number }>) =>
  db
    .updateTable('RESERVATION')
    .set({ order_id: p('id') })
    .where('id', '=', p('id')),
)

/** One order's rows, in the order given (ascending seat id); returns their ids. */
export async function insertOrder(
  trx: Transaction<Database>,
  order: {
    scheduleId: number
    accountId: string
    reservedAt: Date
    seats: ReadonlyArray<{ seatId: number; price: number }>
  },
): Promise<number[]> {
  const ids: number[] = []
  for (const seat of order.seats) {
    const result = await insertReservationStatement.run(trx, {
      scheduleId: order.scheduleId,
      seatId: seat.seatId,
      accountId: order.accountId,
      price: seat.price,
      reservedAt: order.reservedAt,
      orderId: ids[0] ?? null,
    })
    ids.push(Number(result.insertId))
  }
  const [first] = ids
  // The first row learns its own id only once inserted.
  if (first !== undefined) await setOrderStatement.run(trx, { id: first })
  return ids
}

/** Which of `seatIds` are sold (SOLD) at this schedule, ascending. */
export async function soldSeatIdsAmong(
  db: DbExecutor,
  scheduleId: number,
  seatIds: readonly number[],
): Promise<number[]> {
  if (seatIds.length === 0) return []
  const rows = await db
    .selectFrom('RESERVATION')
    .select('seat_id')
    .where('schedule_id', '=', scheduleId)
    .where('live_seat_id', 'in', seatIds)
    .orderBy('seat_id')
    .execute()
  return rows.map((row) => row.seat_id)
}

/**
 * Seats the account holds (SOLD) over every show of the event, as a subquery of the
 * payment's one read under the account lock (payment-checks), so parallel purchases of
 * one account count one after another.
 */
export function seatsHeldQuery(
  db: Pick<QueryCreator<Database>, 'selectFrom'>,
  accountId: string,
  eventId: number,
) {
  return db
    .selectFrom('RESERVATION as r')
    .innerJoin('EVENT_SCHEDULE as s', 's.id', 'r.schedule_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('r.account_id', '=', accountId)
    .where('s.event_id', '=', eventId)
    .where('r.status', '=', 'SOLD')
}

export function findReservation(db: DbExecutor, id: number) {
  return db.selectFrom('RESERVATION').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Locks the row for the rest of the refund's transaction. */
export function lockReservation(trx: Transaction<Database>, id: number) {
  return trx.selectFrom('RESERVATION').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

/** The reservation an operator's refund Idempotency-Key was used for, if any. */
export function findByRefundKey(db: DbExecutor, key: string) {
  return db.selectFrom('RESERVATION').select('id').where('refund_key', '=', key).executeTakeFirst()
}

/** SOLD → REFUNDED; false if it was not SOLD. A refund key used before fails as a duplicate key. */
export async function markRefunded(
  trx: Transaction<Database>,
  id: number,
  refund: { reason: string; key: string | null; at: Date },
): Promise<boolean> {
  const result = await trx
    .updateTable('RESERVATION')
    .set({ status: 'REFUNDED', refunded_at: refund.at, refund_reason: refund.reason, refund_key: refund.key })
    .where('id', '=', id)
    .where('status', '=', 'SOLD')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

const reservationView = (db: DbExecutor) =>
  db
    .selectFrom('RESERVATION as r')
    .innerJoin('EVENT_SCHEDULE as s', 's.id', 'r.schedule_id')
    .innerJoin('EVENT as e', 'e.id', 's.event_id')
    .innerJoin('VENUE_SEAT as v', 'v.id', 'r.seat_id')
    .select([
      'r.id as reservationId',
      // Rows written before orders existed, or by hand, are an order of one.
      sql<number>`COALESCE(r.order_id, r.id)`.as('orderId'),
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
      'r.status as status',
      'r.reserved_at as reservedAt',
      'r.refunded_at as refundedAt',
      'r.refund_reason as refundReason',
    ])

export function listReservationsOf(db: DbExecutor, accountId: string) {
  return reservationView(db).where('r.account_id', '=', accountId).orderBy('r.id').execute()
}

/** The sold reservation of a seat of a show, if it is sold (UNIQUE(schedule_id, live_seat_id)). */
export function findLiveReservation(db: DbExecutor, scheduleId: number, seatId: number) {
  return reservationView(db)
    .where('r.schedule_id', '=', scheduleId)
    .where('r.live_seat_id', '=', seatId)
    .executeTakeFirst()
}

export function findReservationView(db: DbExecutor, id: number) {
  return reservationView(db).where('r.id', '=', id).executeTakeFirst()
}

/** Every row of the order, in the order they were written (ascending seat id). */
export function listOrder(db: DbExecutor, orderId: number) {
  return reservationView(db)
    .where((eb) => eb.or([eb('r.order_id', '=', orderId), eb('r.id', '=', orderId)]))
    .orderBy('r.id')
    .execute()
}
