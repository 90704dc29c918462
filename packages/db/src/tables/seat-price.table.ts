import type { Generated, Insertable, Selectable } from 'kysely'

/** SEAT_PRICE: what a seat type costs at one event, in whole won. */
export interface SeatPriceTable {
  id: Generated<number>
  event_id: number
  seat_type: string
  price: number
  created_at: Generated<Date>
}

export type SeatPrice = Selectable<SeatPriceTable>
export type NewSeatPrice = Insertable<SeatPriceTable>
