import type { Generated, Insertable, Selectable } from 'kysely'

/** EVENT: a concert run at one venue between two dates. */
export interface EventTable {
  id: Generated<number>
  title: string
  description: string | null
  venue_id: number
  /** 'YYYY-MM-DD' */
  start_date: string
  /** 'YYYY-MM-DD' */
  end_date: string
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Event = Selectable<EventTable>
export type NewEvent = Insertable<EventTable>
