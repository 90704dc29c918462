import { randomBytes } from 'node:crypto'
import { type CatalogChange, catalogVersionsKey, eventListVersionKey, type RedisClient } from '@concert/queue'
import { LRUCache } from 'lru-cache'
import { SharedRead } from './shared-read.js'

/**
 * The read caches of the catalogue (events list, dates of an event, seat maps),
 * shared by every booking-api copy through Redis:
 *
 * - each copy keeps the answer in process, as the JSON bytes it sends, tagged with the version it read from Redis BEFORE it read
 *   MySQL;
 * - every committed change (a sale, a refund, an operator's write) rewrites the
 *   versions it touches AFTER its commit, with a value never used before;
 * - every request reads the versions (one command, or one sent after it came in
 *   and shared with other requests: token checks, SharedRead) and is answered from
 *   the cache only when they are the ones the answer was built under.
 *
 * So once a change has been answered, the next request to any copy sees it. A
 * rewrite that failed (Redis unreachable after the commit) or versions Redis
 * lost are covered by each answer's time to live, `SEAT_MAP_CACHE_MS`: the
 * documented bound on a stale seat map.
 */

/** A JSON answer ready to send: its bytes, encoded once. */
export interface CachedBody {
  json: Buffer
}

export function cachedBody(value: unknown): CachedBody {
  return { json: Buffer.from(JSON.stringify(value)) }
}

interface Entry<V> {
  version: string
  expiresAt: number
  value: Promise<V>
  /** Its load has ended (answered or failed). */
  settled: boolean
  /** Callers of another version while the load ran: one load for all of them, once this one ends. */
  trailing?: Trailing<V>
}

interface Trailing<V> {
  /** The version the last caller read: the answer is tagged with it (or with `current`'s). */
  version: string
  load: Loader<V>
  current: (() => Promise<string>) | undefined
  value: Promise<V>
  start: () => void
  started: boolean
}

/** Builds the value under `version` (the one it will be tagged with). */
export type Loader<V> = (version: string) => Promise<{ value: V; expiresAt?: number }>

/**
 * In-process values tagged with a version: a value is served while its version
 * is the one the caller just read and its time is not up; concurrent misses
 * for one version share one load; a failed load is forgotten. `ttlMs` 0 turns
 * caching off.
 *
 * One load per key at a time. During a sale every purchase rewrites its show's
 * version, so nearly every read of a busy show's seat map saw a version of its
 * own, and each started a load of its own: as many MySQL reads of the whole map
 * at once as there were sales in the last few milliseconds. Now callers of a
 * version the running load was not started for wait for one load that begins
 * when it ends, so it reads MySQL after each of them read their version, which
 * is written after its change committed: every answer still holds every change
 * its caller could know of, and a copy reads a show's map at most once per
 * load time, however many sales and reads there are. That load is tagged with
 * the version its callers' `current` reads as it starts (the newest; without
 * one, the last caller's), and built under it. A load running past `ttlMs`
 * holds nobody back: the next caller starts one of its own, as before.
 */
export class VersionedCache<K extends {}, V> {
  private readonly entries: LRUCache<K, Entry<V>> | undefined

  constructor(
    private readonly ttlMs: number,
    maxEntries = 10_000,
  ) {
    this.entries = ttlMs > 0 ? new LRUCache({ max: maxEntries }) : undefined
  }

  get enabled(): boolean {
    return this.entries !== undefined
  }

  /**
   * `load` may end its value's life earlier (`expiresAt`, ms since the epoch). `current`
   * reads the key's version afresh, for a load that starts after a running one.
   */
  get(key: K, version: string, load: Loader<V>, current?: () => Promise<string>): Promise<V> {
    const entries = this.entries
    if (!entries) return load(version).then((loaded) => loaded.value)
    const hit = entries.get(key)
    const now = Date.now()
    if (hit && hit.expiresAt > now) {
      if (hit.version === version) return hit.value
      if (!hit.settled) return this.after(key, hit, version, load, current)
    }
    return this.start(key, version, load).value
  }

  private start(key: K, version: string, load: Loader<V>, current?: () => Promise<string>): Entry<V> {
    const entries = this.entries as LRUCache<K, Entry<V>>
    // The clock starts before the load reads anything, so no value outlives ttlMs of its data.
    const entry: Entry<V> = {
      version,
      expiresAt: Date.now() + this.ttlMs,
      value: Promise.resolve(undefined as V),
      settled: false,
    }
    entry.value = (async () => {
      if (current) {
        // Newer than (or the same as) every waiting caller's: Redis answers in order.
        entry.version = await current().catch(() => version)
        entry.expiresAt = Date.now() + this.ttlMs
      }
      const loaded = await load(entry.version)
      if (loaded.expiresAt !== undefined) entry.expiresAt = Math.min(entry.expiresAt, loaded.expiresAt)
      return loaded.value
    })()
    entries.set(key, entry)
    const settle = () => {
      entry.settled = true
      entry.trailing?.start()
    }
    entry.value.then(settle, () => {
      if (entries.peek(key) === entry) entries.delete(key)
      settle()
    })
    return entry
  }

  /** The answer of the one load that starts once `running` ends. */
  private after(
    key: K,
    running: Entry<V>,
    version: string,
    load: Loader<V>,
    current: (() => Promise<string>) | undefined,
  ): Promise<V> {
    const trailing = running.trailing
    if (trailing) {
      trailing.version = version
      trailing.load = load
      trailing.current = current ?? trailing.current
      return trailing.value
    }
    let start: () => void = () => {}
    const value = new Promise<V>((resolve, reject) => {
      start = () => {
        const next = running.trailing as Trailing<V>
        if (next.started) return
        next.started = true
        clearTimeout(overdue)
        this.start(key, next.version, next.load, next.current).value.then(resolve, reject)
      }
    })
    // Nor does a load running past its TTL hold its waiters back (a stalled query).
    const overdue = setTimeout(() => start(), Math.max(0, running.expiresAt - Date.now()))
    overdue.unref()
    running.trailing = { version, load, current, value, start, started: false }
    return value
  }
}

/** Versions live this long after their last change; a lost one only costs a reload. */
const VERSION_TTL_MS = 24 * 3600 * 1000

/** Fields of an event's versions hash (see catalogVersionsKey). */
export const VERSION_FIELDS = {
  /** The event, its prices and its shows (operator writes). */
  event: 'e',
  /** Seats sold on any show of the event. */
  sales: 'd',
  /** Seats sold on one show. */
  show: (scheduleId: number) => `s:${scheduleId}`,
} as const

/** Reads and rewrites the versions in Redis. */
export class CatalogVersions {
  // Unique per process and per change: a version is never reused, even after Redis lost them all.
  private readonly origin = randomBytes(6).toString('base64url')
  private counter = 0

  private readonly eventListVersion: SharedRead<string>

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.eventListVersion = new SharedRead(
      async () => (await this.redis.get(eventListVersionKey(this.prefix))) ?? '',
    )
  }

  private next(): string {
    this.counter += 1
    return `${this.origin}.${this.counter}`
  }

  /**
   * The event's versions of `fields`, as one string (a missing one reads as empty):
   * those read along with the request's queue token when it is this event's, else
   * one HMGET.
   */
  async ofEvent(
    eventId: number,
    fields: readonly string[],
    read?: { eventId: number; versions: readonly string[] },
  ): Promise<string> {
    if (read?.eventId === eventId && read.versions.length === fields.length) return read.versions.join('|')
    const values = await this.redis.hmget(catalogVersionsKey(this.prefix, eventId), ...fields)
    return values.map((value) => value ?? '').join('|')
  }

  /**
   * The events list's version. The list needs no token, so no token check reads it
   * along: requests that come in together share one GET (SharedRead).
   */
  ofEventList(): Promise<string> {
    return this.eventListVersion.get()
  }

  /** New values for `fields`, for a script to write (finish-purchase-9.lua after a sale). */
  change(fields: readonly string[]): CatalogChange {
    return { fieldsAndValues: fields.flatMap((field) => [field, this.next()]), ttlMs: VERSION_TTL_MS }
  }

  /** Rewrites the event's `fields` (one key, so one slot: a single MULTI). */
  async bumpEvent(eventId: number, fields: readonly string[]): Promise<void> {
    const key = catalogVersionsKey(this.prefix, eventId)
    const { fieldsAndValues, ttlMs } = this.change(fields)
    await this.redis
      .multi()
      .hset(key, ...fieldsAndValues)
      .pexpire(key, ttlMs)
      .exec()
  }

  async bumpEventList(): Promise<void> {
    await this.redis.set(eventListVersionKey(this.prefix), this.next(), 'PX', VERSION_TTL_MS)
  }
}
