import type { Generated, Insertable, Selectable, Updateable } from 'kysely'

/** EVENT: a concert run at one venue, with its sale window, queue settings and purchase limits. */
export interface EventTable {
  id: Generated<number>
  title: string
  description: string | null
  venue_id: number
  /** 'YYYY-MM-DD' of the first show (venue-local); NULL while the event has no show. */
  start_date: string | null
  /** 'YYYY-MM-DD' of the last show (venue-local); NULL while the event has no show. */
  end_date: string | null
  /** When the sale opens (UTC); NULL: open since creation (SPEC §8). */
  opens_at: Date | null
  /** When the sale closes (UTC); NULL: never. */
  closes_at: Date | null
  /** Minutes before `opens_at` that joins are taken into the pre-queue. */
  pre_queue_minutes: Generated<number>
  /** Per-event queue settings (SPEC §4); NULL: the QUEUE_* env default. */
  max_active: number | null
  admit_per_second: number | null
  active_ttl_seconds: number | null
  waiting_idle_seconds: number | null
  /** 1 while an operator has paused admission (TINYINT(1)). */
  paused: Generated<number>
  /** Seats one order may take (SPEC §9). */
  max_seats_per_order: Generated<number>
  /** Seats one account may hold across its orders for this event (SPEC §9). */
  max_seats_per_account: Generated<number>
  /** The demo seed's natural key for the events it writes; NULL for operators' events. */
  seed_key: string | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Event = Selectable<EventTable>
export type NewEvent = Insertable<EventTable>
export type EventUpdate = Updateable<EventTable>
