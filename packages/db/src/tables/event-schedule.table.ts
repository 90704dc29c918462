import type { Generated, Insertable, Selectable } from 'kysely'

/** EVENT_SCHEDULE: one performance (date and time) of an event. */
export interface EventScheduleTable {
  id: Generated<number>
  event_id: number
  /** 'YYYY-MM-DD' */
  date: string
  /** 'HH:MM:SS' */
  start_time: string
  end_time: string | null
  created_at: Generated<Date>
}

export type EventSchedule = Selectable<EventScheduleTable>
export type NewEventSchedule = Insertable<EventScheduleTable>
