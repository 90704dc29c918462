/**
 * QUEUE_EPOCH: how many times an event's Redis queue has been (re)built from
 * MySQL. Mirror writes carry the epoch they were read in and are refused once
 * it has moved on (see packages/queue/src/queue-epochs.repository.ts).
 */
export interface QueueEpochTable {
  event_id: number
  epoch: number
}
