import type { QueueExpiryReason, QueueTokenStatus } from '@concert/db'
import { eventOfToken } from './token.js'

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
 * The one map from a token's logical fields to the names stored in Redis (the
 * hash of a READY or EXPIRED token), in script replies and in mirror records.
 * Scripts name a field as `F.status` (scripts.ts buildScript puts the stored name in,
 * and declares the table `F` where a script names fields by variable), never a
 * spelled-out name. Names are short because a
 * million waiting fans each carry them in replies and mirror records.
 *
 * A token lives in one of two forms (includes/token.lua):
 * - WAITING: one line in a bucket hash (`keys.record(token)`), the WAITING_FIELDS
 *   joined by '|', its place the score in the waiting zset: no key of its own,
 *   no status (a line means WAITING), no token or event id (the field and the
 *   key say them). This is the form a million fans take.
 * - READY and EXPIRED: a hash of its own (`keys.token(token)`) with the F
 *   fields; `claim` and `claimUntil` are payment working state, never mirrored,
 *   and `unmirrored` says the latest change is not in MySQL yet.
 */
export const F = {
  /** In replies and mirror records only: a token hash's key holds it. */
  token: 't',
  accountId: 'a',
  place: 'p',
  status: 's',
  reason: 'r',
  issuedAt: 'i',
  readyAt: 'ra',
  expiresAt: 'x',
  version: 'v',
  claim: 'c',
  claimUntil: 'cu',
  /** WAITING lines only: when the fan last polled (stored as ms after issuedAt); drives abandonment. */
  seen: 'sn',
  /**
   * Hashes only: set (to '1') by every change the mirror has not yet written to
   * QUEUE_TOKEN (includes/mirror.lua), cleared once it has (mark-durable-1.lua).
   * A state so marked is made durable before any fan is told it (QueueService).
   */
  unmirrored: 'u',
} as const

export type TokenField = keyof typeof F

/**
 * The logical fields that make up a token's state, in one order: the mirror
 * copies exactly these into the stream, the restore script takes their values
 * in this order, and toTokenState reads them. Lua gets it as `TOKEN_FIELDS`.
 */
export const TOKEN_FIELDS = [
  'accountId',
  'place',
  'status',
  'reason',
  'issuedAt',
  'readyAt',
  'expiresAt',
  'version',
] as const satisfies readonly TokenField[]

/** A WAITING token's line in its bucket: these values joined by '|' (account ids never hold '|'). Lua: `WAITING_FIELDS`. */
export const WAITING_FIELDS = [
  'accountId',
  'issuedAt',
  'seen',
  'version',
] as const satisfies readonly TokenField[]

export function pairs(values: ReadonlyArray<string | number>, from = 0): Record<string, string> {
  const record: Record<string, string> = {}
  for (let i = from; i + 1 < values.length; i += 2) record[String(values[i])] = String(values[i + 1])
  return record
}

export function optionalNumber(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value)
}

/** A state from stored field names (F): a script reply or a mirror record. */
export function toTokenState(fields: Record<string, string>): TokenState {
  const token = fields[F.token] ?? ''
  return {
    token,
    accountId: fields[F.accountId] ?? '',
    eventId: eventOfToken(token) ?? 0,
    place: Number(fields[F.place]),
    status: fields[F.status] as QueueTokenStatus,
    reason: (fields[F.reason] || null) as QueueExpiryReason | null,
    issuedAt: Number(fields[F.issuedAt]),
    readyAt: optionalNumber(fields[F.readyAt]),
    expiresAt: optionalNumber(fields[F.expiresAt]),
    version: Number(fields[F.version] ?? 0),
  }
}

/** A state as told with its epoch and unmirrored mark: what makes it durable before it is told (QueueService). */
export interface ToldState {
  state: TokenState
  /** The queue's epoch the state was read in. */
  epoch: string
  /** '1' while MySQL lacks the state's latest change, else ''. */
  unmirrored: string
}

/**
 * A state from its told line (includes/token.lua toldLine): the token, its TOKEN_FIELDS
 * values, the epoch and the unmirrored mark, joined by '|'.
 */
export function fromToldLine(line: string): ToldState {
  const values = line.split('|')
  const fields: Record<string, string> = { [F.token]: values[0] ?? '' }
  TOKEN_FIELDS.forEach((field, i) => {
    fields[F[field]] = values[i + 1] ?? ''
  })
  return {
    state: toTokenState(fields),
    epoch: values[TOKEN_FIELDS.length + 1] ?? '',
    unmirrored: values[TOKEN_FIELDS.length + 2] ?? '',
  }
}

/** The token, then its TOKEN_FIELDS values in that order ('' for none): what the restore script takes. */
export function tokenFieldValues(state: TokenState): string[] {
  const text = (value: number | string | null) => (value === null ? '' : String(value))
  const byField: Record<(typeof TOKEN_FIELDS)[number], string> = {
    accountId: state.accountId,
    place: String(state.place),
    status: state.status,
    reason: text(state.reason),
    issuedAt: String(state.issuedAt),
    readyAt: text(state.readyAt),
    expiresAt: text(state.expiresAt),
    version: String(state.version),
  }
  return [state.token, ...TOKEN_FIELDS.map((field) => byField[field])]
}

/** A WAITING token's state from its bucket line and its place (the waiting zset's score). */
export function fromWaitingLine(token: string, line: string, place: number): TokenState {
  const values = line.split('|')
  const at = (field: (typeof WAITING_FIELDS)[number]) => values[WAITING_FIELDS.indexOf(field)] ?? ''
  return {
    token,
    accountId: at('accountId'),
    eventId: eventOfToken(token) ?? 0,
    place,
    status: 'WAITING',
    reason: null,
    issuedAt: Number(at('issuedAt')),
    readyAt: null,
    expiresAt: null,
    version: Number(at('version')),
  }
}
