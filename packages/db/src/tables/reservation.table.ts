import type { Generated, Insertable, Selectable } from 'kysely'

/** RESERVATION: a sold seat of one schedule; UNIQUE(schedule_id, seat_id) is the last guard against double sales. */
export interface ReservationTable {
  id: Generated<number>
  schedule_id: number
  seat_id: number
  account_id: string
  /** The price paid, frozen at purchase time. */
  price: number
  reserved_at: Generated<Date>
}

export type Reservation = Selectable<ReservationTable>
export type NewReservation = Insertable<ReservationTable>
