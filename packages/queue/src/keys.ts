import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/**
 * Every Redis key the system uses is built here.
 *
 * All keys of one event share the hash tag `{q:<eventId>}`, so every queue
 * script touches a single Cluster slot; seat keys too (`<tag>:seat:<scheduleId>:<seatId>`),
 * so a purchase claims its token and locks its seats in one script. `prefix` separates deployments (and test files) that
 * share one Redis; it stays outside the braces so it never changes the slot.
 */
export interface EventKeys {
  eventId: number
  /** Present while Redis holds the event's queue; gone means "recover from MySQL first". */
  marker: string
  /** FIFO place counter (INCR). */
  seq: string
  /** zset token -> place: the WAITING tokens in order. */
  waiting: string
  /** zset token -> expiresAt (ms) of READY tokens. */
  active: string
  /**
   * Prefix of the account buckets: hashes accountId -> the account's live token,
   * named by its place while WAITING (the waiting zset holds the token at that
   * score; a few bytes instead of the token) and by the token once READY. Bucketed
   * (see accountBucket()), so each stays a compact listpack at 1M fans.
   */
  accounts: string
  account(accountId: string): string
  /**
   * Prefix of the WAITING token buckets: hashes token -> its line (token-state.ts),
   * bucketed (see tokenBucket()), so each stays a compact listpack at 1M fans.
   */
  records: string
  record(token: string): string
  /** hash tokens, ts, firstAdmitAt, sweep and sweepAt (the idle sweep's next place, and when it is due): the admission token bucket. */
  bucket: string
  /** zset token -> admitted at (ms), trimmed to the last minute: the observed rate. */
  admitted: string
  /** Stream of token state changes, consumed by the MySQL mirror. */
  stream: string
  /**
   * Stream of token expiries (`t` token, `p` its place when it was still WAITING: a gap in
   * the queue), capped; read by every gateway copy's SSE fan-out (feed.ts).
   */
  feed: string
  /**
   * zset token -> when a gateway copy streaming it (SSE) last marked it seen: a fan with an
   * open stream never polls, and the admission tick's idle check reads this (feed-8.lua).
   */
  streaming: string
  /** Held while one process rebuilds the queue from MySQL. */
  recovering: string
  /**
   * hash: the event's sale (SPEC §8) and queue settings as every script reads them:
   * opensAt, closesAt, preQueueFrom (ms), paused, soldOut, drawn, prequeueLast and the
   * per-event overrides maxActive, admitPerSecond, activeTtlMs, waitingIdleMs.
   */
  sale: string
  /**
   * The one key of this list outside the event's tag: saleChangesKey(prefix), shared by
   * every event and rewritten by TypeScript after (never inside) a script changes a sale hash.
   */
  saleChanges: string
  /** Held while one process draws the pre-queue's order. */
  drawing: string
  /** Prefix of the hashes of READY and EXPIRED tokens: tokenKeyBase + token. */
  tokenKeyBase: string
  token(token: string): string
  /** zset stream id -> 0: a token's open SSE streams, on every gateway copy (sse-leases.ts). */
  sseStreams(token: string): string
  /**
   * Prefix of one show's seat keys (seatKeyBase(scheduleId) + seatId): a running payment's
   * owner (the seat lock) or SOLD after a sale. Under the event's tag, so a purchase claims
   * its token and locks its seats in one script.
   */
  seatKeyBase(scheduleId: number): string
}

export function hashTag(eventId: number): string {
  return `{q:${eventId}}`
}

/**
 * The bucket of an account (one of 16384, from its SHA-1) and of a WAITING token
 * (one of 15376, from its last random characters). At 1M fans a bucket holds
 * about 60 entries: a listpack small enough that reading or rewriting one entry
 * stays a short scan, and the per-key overhead is a few bytes per fan.
 * includes/keys.lua computes the same in the scripts: change both together.
 */
export function accountBucket(accountId: string): string {
  return String(Number.parseInt(createHash('sha1').update(accountId).digest('hex').slice(0, 4), 16) % 16384)
}

export function tokenBucket(token: string): string {
  return `${token.slice(-2)}${token.charCodeAt(token.length - 3) % 4}`
}

/**
 * Built once per (prefix, event): every request names an event's keys, and they never
 * change. Far more events than any deployment sells at once; the least recently used go.
 */
const builtKeys = new LRUCache<string, EventKeys>({ max: 10_000 })

export function eventKeys(prefix: string, eventId: number): EventKeys {
  const id = `${prefix}\u0000${eventId}`
  let keys = builtKeys.get(id)
  if (!keys) {
    keys = buildEventKeys(prefix, eventId)
    builtKeys.set(id, keys)
  }
  return keys
}

function buildEventKeys(prefix: string, eventId: number): EventKeys {
  const base = `${prefix}${hashTag(eventId)}`
  const tokenKeyBase = `${base}:t:`
  const accounts = `${base}:a:`
  const records = `${base}:w:`
  return {
    eventId,
    marker: `${base}:marker`,
    seq: `${base}:seq`,
    waiting: `${base}:waiting`,
    active: `${base}:active`,
    accounts,
    account: (accountId: string) => `${accounts}${accountBucket(accountId)}`,
    records,
    record: (token: string) => `${records}${tokenBucket(token)}`,
    bucket: `${base}:bucket`,
    admitted: `${base}:admitted`,
    stream: `${base}:mirror`,
    feed: `${base}:feed`,
    streaming: `${base}:streaming`,
    recovering: `${base}:recovering`,
    sale: `${base}:sale`,
    saleChanges: saleChangesKey(prefix),
    drawing: `${base}:drawing`,
    tokenKeyBase,
    token: (token: string) => `${tokenKeyBase}${token}`,
    sseStreams: (token: string) => `${base}:sse:${token}`,
    seatKeyBase: (scheduleId: number) => `${base}:seat:${scheduleId}:`,
  }
}

/**
 * hash: versions of what the booking API caches of one event's catalogue, each
 * field rewritten with a fresh value after a committed change — `e` (the event,
 * its prices and shows), `d` (seats sold on any of its shows), `s:<scheduleId>`
 * (seats sold on that show). In the event's slot, so one HMGET reads a seat
 * map's or a dates list's versions.
 */
export function catalogVersionsKey(prefix: string, eventId: number): string {
  return `${prefix}${hashTag(eventId)}:catalog`
}

/**
 * string: a fresh value after every change to any event's `sale` hash (an operator's
 * settings, sold out or open again, a rebuild). The gateway's admission loop reads it
 * every tick to learn, with one GET, that an event it leaves alone (SCHEDULED, PAUSED,
 * SOLD_OUT, CLOSED) may need a tick again.
 */
export function saleChangesKey(prefix: string): string {
  return `${prefix}sale:changes`
}

/** string: version of the events list, rewritten after every operator change to an event or show. */
export function eventListVersionKey(prefix: string): string {
  return `${prefix}catalog:events`
}

/**
 * zset stream id -> 0: one client address's open SSE streams, on every gateway copy
 * (sse-leases.ts). Not per event, so no hash tag: the key hashes to a slot of its own,
 * and every script that touches it (sse-take-place-1, sse-put-back-1) takes it as its
 * one key, which any Cluster slot serves.
 */
export function clientSseStreamsKey(prefix: string, ip: string): string {
  return `${prefix}sse:ip:${ip}`
}

/**
 * zset gateway copy id -> lease expiry (ms): the copies whose open SSE streams still count
 * (sse-leases.ts). One registry for the deployment, so no hash tag: its own slot, and the
 * scripts that read or write it (sse-renew-copy-1, sse-dead-copies-1) take it as their one key.
 */
export function sseCopiesKey(prefix: string): string {
  return `${prefix}sse:copies`
}

/** Per-client-IP issuance counters of the rate limiter. */
export function rateLimitPrefix(prefix: string): string {
  return `${prefix}rate:`
}
