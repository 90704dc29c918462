import type { Generated, Insertable, Selectable } from 'kysely'

/** VENUE: a hall, how many seats it has, and the time zone its show times are in. */
export interface VenueTable {
  id: Generated<number>
  name: string
  address: string | null
  capacity: number
  /** IANA zone (e.g. 'Asia/Seoul'): a show's date and start time are wall-clock times here. */
  time_zone: string
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Venue = Selectable<VenueTable>
export type NewVenue = Insertable<VenueTable>
