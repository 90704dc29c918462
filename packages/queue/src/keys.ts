/**
 * Every Redis key the system uses is built here.
 *
 * All keys of one event share the hash tag `{q:<eventId>}`, so every queue
 * script touches a single Cluster slot; seat keys of one schedule share
 * `{s:<scheduleId>}`. `prefix` separates deployments (and test files) that
 * share one Redis; it stays outside the braces so it never changes the slot.
 */
export interface EventKeys {
  eventId: number
  /** Present while Redis holds the event's queue; gone means "recover from MySQL first". */
  marker: string
  /** FIFO place counter (INCR). */
  seq: string
  /** zset token -> place. */
  waiting: string
  /** zset token -> last poll (ms); drives abandonment. */
  heartbeat: string
  /** zset token -> expiresAt (ms) of READY tokens. */
  active: string
  /** hash accountId -> the account's live token. */
  accounts: string
  /** hash tokens, ts, firstAdmitAt: the admission token bucket. */
  bucket: string
  /** zset token -> admitted at (ms), trimmed to the last minute: the observed rate. */
  admitted: string
  /** Stream of token state changes, consumed by the MySQL mirror. */
  stream: string
  /** Held while one process rebuilds the queue from MySQL. */
  recovering: string
  /**
   * hash: the event's sale (SPEC §8) and queue settings as every script reads them:
   * opensAt, closesAt, preQueueFrom (ms), paused, soldOut, drawn, prequeueLast and the
   * per-event overrides maxActive, admitPerSecond, activeTtlMs, waitingIdleMs.
   */
  sale: string
  /** Held while one process draws the pre-queue's order. */
  drawing: string
  /** Prefix of token hashes: tokenKeyBase + token. */
  tokenKeyBase: string
  token(token: string): string
  /** zset stream id -> lease expiry (ms): a token's open SSE streams, on every gateway copy. */
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

export function eventKeys(prefix: string, eventId: number): EventKeys {
  const base = `${prefix}${hashTag(eventId)}`
  const tokenKeyBase = `${base}:t:`
  return {
    eventId,
    marker: `${base}:marker`,
    seq: `${base}:seq`,
    waiting: `${base}:waiting`,
    heartbeat: `${base}:heartbeat`,
    active: `${base}:active`,
    accounts: `${base}:accounts`,
    bucket: `${base}:bucket`,
    admitted: `${base}:admitted`,
    stream: `${base}:mirror`,
    recovering: `${base}:recovering`,
    sale: `${base}:sale`,
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

/** string: version of the events list, rewritten after every operator change to an event or show. */
export function eventListVersionKey(prefix: string): string {
  return `${prefix}catalog:events`
}

/** zset stream id -> lease expiry (ms): one client address's open SSE streams, on every gateway copy. */
export function clientSseStreamsKey(prefix: string, ip: string): string {
  return `${prefix}sse:ip:${ip}`
}

/** Per-client-IP issuance counters of the rate limiter. */
export function rateLimitPrefix(prefix: string): string {
  return `${prefix}rate:`
}
