import type { Generated, Insertable, Selectable } from 'kysely'

/** VENUE: a hall and how many seats it has. */
export interface VenueTable {
  id: Generated<number>
  name: string
  address: string | null
  capacity: number
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Venue = Selectable<VenueTable>
export type NewVenue = Insertable<VenueTable>
