import type { QueueExpiryReason, QueueTokenStatus } from '@concert/db'

/** A token as stored in Redis (times in ms since the epoch). */
export interface TokenState {
  token: string
  accountId: string
  eventId: number
  /** FIFO place number from the event's counter; mirrored as QUEUE_TOKEN.position. */
  place: number
  status: QueueTokenStatus
  reason: QueueExpiryReason | null
  issuedAt: number
  readyAt: number | null
  expiresAt: number | null
  version: number
}

/**
 * The fields of a token hash that make up its state, in one order: the mirror
 * script copies exactly these into the stream, the restore script writes them
 * back, and toTokenState reads them. The Lua side gets this list as
 * `TOKEN_FIELDS` (scripts.ts prepends it), so it is spelled only here.
 * Other fields of the hash (claim, claimUntil) are working state, never mirrored.
 */
export const TOKEN_FIELDS = [
  'token',
  'accountId',
  'eventId',
  'place',
  'status',
  'reason',
  'issuedAt',
  'readyAt',
  'expiresAt',
  'v',
] as const

export function pairs(values: ReadonlyArray<string | number>, from = 0): Record<string, string> {
  const record: Record<string, string> = {}
  for (let i = from; i + 1 < values.length; i += 2) record[String(values[i])] = String(values[i + 1])
  return record
}

export function optionalNumber(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value)
}

export function toTokenState(fields: Record<string, string>): TokenState {
  return {
    token: fields.token ?? '',
    accountId: fields.accountId ?? '',
    eventId: Number(fields.eventId),
    place: Number(fields.place),
    status: fields.status as QueueTokenStatus,
    reason: (fields.reason || null) as QueueExpiryReason | null,
    issuedAt: Number(fields.issuedAt),
    readyAt: optionalNumber(fields.readyAt),
    expiresAt: optionalNumber(fields.expiresAt),
    version: Number(fields.v ?? 0),
  }
}

/** The state as TOKEN_FIELDS values, in that order ('' for none): what the restore script takes. */
export function tokenFieldValues(state: TokenState): string[] {
  const text = (value: number | string | null) => (value === null ? '' : String(value))
  const byField: Record<(typeof TOKEN_FIELDS)[number], string> = {
    token: state.token,
    accountId: state.accountId,
    eventId: String(state.eventId),
    place: String(state.place),
    status: state.status,
    reason: text(state.reason),
    issuedAt: String(state.issuedAt),
    readyAt: text(state.readyAt),
    expiresAt: text(state.expiresAt),
    v: String(state.version),
  }
  return TOKEN_FIELDS.map((field) => byField[field])
}
