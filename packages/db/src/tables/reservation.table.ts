import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** SOLD holds the seat; REFUNDED gave it back (the row stays, the ledger's REFUND row points at it). */
export type ReservationStatus = 'SOLD' | 'REFUNDED'

/**
 * RESERVATION: one seat of one schedule, bought in an order of one or more seats.
 * UNIQUE(schedule_id, live_seat_id) is the last guard against double sales: it covers
 * SOLD rows only, so a refunded seat can be sold again.
 */
export interface ReservationTable {
  id: Generated<number>
  schedule_id: number
  seat_id: number
  account_id: string
  /** The price paid, frozen at purchase time. */
  price: number
  reserved_at: Generated<Date>
  status: Generated<ReservationStatus>
  /** The first reservation of the order this seat was bought in (its own id for an order of one). */
  order_id: number | null
  refunded_at: Date | null
  refund_reason: string | null
  /** The operator's Idempotency-Key of the refund; unique. */
  refund_key: string | null
  /** Generated: seat_id while SOLD, NULL once REFUNDED. */
  live_seat_id: ColumnType<number | null, never, never>
}

export type Reservation = Selectable<ReservationTable>
export type NewReservation = Insertable<ReservationTable>
export type ReservationUpdate = Updateable<ReservationTable>
