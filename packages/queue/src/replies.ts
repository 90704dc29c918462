/**
 * The one table of script outcomes. Every queue script answers a table whose
 * first element is one of these words (then its payload); the Lua side gets
 * the same table as `R` (scripts.ts prepends it), so a code is spelled once.
 */
export const Reply = {
  OK: 'OK',
  /** The event's marker is gone (Redis lost its data): rebuild from MySQL, then run again. */
  RECOVER: 'RECOVER',
  CREATED: 'CREATED',
  EXISTING: 'EXISTING',
  MISSING: 'MISSING',
  NOT_READY: 'NOT_READY',
  EXPIRED: 'EXPIRED',
  BUSY: 'BUSY',
  LEFT: 'LEFT',
  ALREADY_EXPIRED: 'ALREADY_EXPIRED',
  NOT_OWNER: 'NOT_OWNER',
  /** The mirror is too far behind (MySQL slow or down): refuse new work rather than grow what a Redis loss would undo. */
  BACKLOG: 'BACKLOG',
  /** SPEC §8 join refusals: before the pre-queue opens, after sell-out, after the sale closed. */
  SALE_NOT_OPEN: 'SALE_NOT_OPEN',
  SOLD_OUT: 'SOLD_OUT',
  SALE_CLOSED: 'SALE_CLOSED',
  /** A purchase's seats: already sold (every such seat named), or locked by another running payment. */
  SEAT_TAKEN: 'SEAT_TAKEN',
  SEAT_LOCKED: 'SEAT_LOCKED',
  /** The token's latest change is not in MySQL yet: make it durable (QueueService), then ask again. */
  UNMIRRORED: 'UNMIRRORED',
  /**
   * One attempt of a batch script failed with a Redis error (its message follows); the
   * other attempts of the batch were answered on their own (begin-purchase-4.lua).
   */
  FAILED: 'FAILED',
  /** A set of SSE stream places is full (the members holding them follow). */
  FULL: 'FULL',
  /** A gateway copy's SSE lease had run out (or Redis lost it): its places may have been dropped. */
  LAPSED: 'LAPSED',
} as const

export type ReplyCode = (typeof Reply)[keyof typeof Reply]

/** A script's answer: its code, then values. */
export type ScriptReply = [ReplyCode, ...Array<string | number>]

export function replyCode(reply: ReadonlyArray<unknown>): ReplyCode {
  return reply[0] as ReplyCode
}

export function needsRecovery(reply: ReadonlyArray<unknown>): boolean {
  return reply[0] === Reply.RECOVER
}
