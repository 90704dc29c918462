import type { Database } from '@concert/db'
import { type Kysely, sql } from 'kysely'

export interface InvariantReport {
  /** (schedule, seat) pairs with more than one live (SOLD) reservation: must be 0. */
  seatsSoldTwice: number
  /** SOLD reservations of the shows the HTTP phases bought (the measured one and the warm-up's). */
  soldOnShow: number
  /** Accounts whose balance ≠ Σ of their ledger (CHARGE, PAYMENT, REFUND), or below zero: must be 0. */
  balancesOff: number
  /** Reservations without exactly one PAYMENT row of their price from their buyer: must be 0. */
  unpaidReservations: number
}

/**
 * SPEC §4 and §9 checks after the purchase phases, over the whole bench database
 * (the same queries as the booking API tests' expectInvariants in
 * apps/booking-api/test/helpers.ts, which asserts with Vitest and so cannot run here).
 */
export async function checkInvariants(
  db: Kysely<Database>,
  showIds: readonly number[],
): Promise<InvariantReport> {
  const doubles = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT schedule_id, seat_id FROM RESERVATION WHERE status = 'SOLD'
      GROUP BY schedule_id, seat_id HAVING COUNT(*) > 1
    ) d`.execute(db)
  const sold = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM RESERVATION
    WHERE schedule_id IN (${sql.join(showIds)}) AND status = 'SOLD'`.execute(db)
  const ledger = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM ACCOUNT a
    WHERE a.amount < 0
       OR a.amount <> COALESCE((SELECT SUM(h.amount) FROM BALANCE_HISTORY h WHERE h.account_id = a.id), 0)`.execute(
    db,
  )
  const unpaid = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM RESERVATION r
    WHERE (SELECT COUNT(*) FROM BALANCE_HISTORY h
           WHERE h.reservation_id = r.id AND h.type = 'PAYMENT'
             AND h.amount = -r.price AND h.account_id = r.account_id) <> 1
       OR (SELECT COUNT(*) FROM BALANCE_HISTORY h WHERE h.reservation_id = r.id AND h.type = 'PAYMENT') <> 1`.execute(
    db,
  )
  return {
    seatsSoldTwice: Number(doubles.rows[0]?.n),
    soldOnShow: Number(sold.rows[0]?.n),
    balancesOff: Number(ledger.rows[0]?.n),
    unpaidReservations: Number(unpaid.rows[0]?.n),
  }
}
