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
  /**
   * Stream of token expiries (`t` token, `p` its place when it was still WAITING: a gap in
   * the queue), capped; read by every gateway copy's SSE fan-out (feed.ts).
   */
  feed: string
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
    feed: `${base}:feed`,
    recovering: `${base}:recovering`,
    sale: `${base}:sale`,
    drawing: `${base}:drawing`,
    tokenKeyBase,
    token: (token: string) => `${tokenKeyBase}${token}`,
    sseStreams: (token: string) => `${base}:sse:${token}`,
  }
}

export interface ScheduleKeys {
  /** Owner-valued lock on one seat while a payment for it runs. */
  seatLock(seatId: number): string
  /** Cached seat map of the schedule (ids of sold seats). */
  seatMap: string
}

export function scheduleKeys(prefix: string, scheduleId: number): ScheduleKeys {
  const base = `${prefix}{s:${scheduleId}}`
  return {
    seatLock: (seatId: number) => `${base}:lock:${seatId}`,
    seatMap: `${base}:seat-map`,
  }
}

/** zset stream id -> lease expiry (ms): one client address's open SSE streams, on every gateway copy. */
export function clientSseStreamsKey(prefix: string, ip: string): string {
  return `${prefix}sse:ip:${ip}`
}

/** zset gateway copy id -> lease expiry (ms): the copies whose open SSE streams still count. */
export function sseCopiesKey(prefix: string): string {
  return `${prefix}sse:copies`
}

/** Per-client-IP issuance counters of the rate limiter. */
export function rateLimitPrefix(prefix: string): string {
  return `${prefix}rate:`
}
