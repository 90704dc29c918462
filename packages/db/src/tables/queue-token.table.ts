import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/**
 * The states a queue token moves through and why an EXPIRED one ended. These
 * lists are the one definition: the column types below, the Lua scripts' tables
 * `S` and `X` (generated from them by @concert/queue's scripts.ts) and the API's
 * TypeBox schemas (`@concert/queue`'s TicketSchema) all follow them.
 */
export const QUEUE_TOKEN_STATUSES = ['WAITING', 'READY', 'EXPIRED'] as const
export const QUEUE_EXPIRY_REASONS = [
  'COMPLETED',
  'TIMEOUT',
  'ABANDONED',
  'LEFT',
  'SOLD_OUT',
  'SALE_CLOSED',
] as const

export type QueueTokenStatus = (typeof QUEUE_TOKEN_STATUSES)[number]
export type QueueExpiryReason = (typeof QUEUE_EXPIRY_REASONS)[number]

/**
 * QUEUE_TOKEN: the durable mirror of the Redis queue. `position` is the
 * ticket's place number handed out by the event's FIFO counter (1 = first to
 * join); the live rank among waiters is computed in Redis.
 */
export interface QueueTokenTable {
  token: string
  account_id: string
  event_id: number
  position: number
  status: QueueTokenStatus
  reason: QueueExpiryReason | null
  issued_at: Date
  ready_at: Date | null
  expires_at: Date | null
  /** Per-token change counter from Redis; a mirror write never replaces a newer one. */
  version: number
  updated_at: Generated<Date>
  /** Generated: account_id while WAITING or READY, else NULL; UNIQUE with event_id (one live token each). */
  live_account_id: ColumnType<string | null, never, never>
}

export type QueueToken = Selectable<QueueTokenTable>
export type NewQueueToken = Insertable<QueueTokenTable>
export type QueueTokenUpdate = Updateable<QueueTokenTable>
