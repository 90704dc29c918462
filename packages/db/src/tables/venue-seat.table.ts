import type { Generated, Insertable, Selectable } from 'kysely'

/** VENUE_SEAT: a physical seat; its type decides its price per event (SEAT_PRICE). */
export interface VenueSeatTable {
  id: Generated<number>
  venue_id: number
  seat_number: string
  area: string
  seat_type: string
  created_at: Generated<Date>
}

export type VenueSeat = Selectable<VenueSeatTable>
export type NewVenueSeat = Insertable<VenueSeatTable>
