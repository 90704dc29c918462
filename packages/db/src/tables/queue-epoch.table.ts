import type { Generated } from 'kysely'

/**
 * QUEUE_EPOCH: how many times an event's Redis queue has been (re)built from
 * MySQL. Mirror writes carry the epoch they were read in and are refused once
 * it has moved on (see packages/queue/src/queue-epochs.repository.ts).
 */
export interface QueueEpochTable {
  event_id: number
  epoch: number
  /** When the pre-queue's order was drawn; NULL before (SPEC §8). */
  drawn_at: Date | null
  /** 1 while no seat of the event's on-sale shows is left (TINYINT(1)). */
  sold_out: Generated<number>
}
