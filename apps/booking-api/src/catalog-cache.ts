import { randomBytes } from 'node:crypto'
import { type CatalogChange, catalogVersionsKey, eventListVersionKey, type RedisClient } from '@concert/queue'
import { LRUCache } from 'lru-cache'

/**
 * The read caches of the catalogue (events list, dates of an event, seat maps),
 * shared by every booking-api copy through Redis:
 *
 * - each copy keeps the answer in process, as the JSON bytes it sends, tagged with the version it read from Redis BEFORE it read
 *   MySQL;
 * - every committed change (a sale, a refund, an operator's write) rewrites the
 *   versions it touches AFTER its commit, with a value never used before;
 * - every request reads the versions (one command) and is answered from the
 *   cache only when they are the ones the answer was built under.
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
}

/**
 * In-process values tagged with a version: a value is served while its version
 * is the one the caller just read and its time is not up; concurrent misses
 * for one version share one load; a failed load is forgotten. `ttlMs` 0 turns
 * caching off.
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

  /** `load` may end its value's life earlier (`expiresAt`, ms since the epoch). */
  get(key: K, version: string, load: () => Promise<{ value: V; expiresAt?: number }>): Promise<V> {
    const entries = this.entries
    if (!entries) return load().then((loaded) => loaded.value)
    const now = Date.now()
    const hit = entries.get(key)
    if (hit && hit.version === version && hit.expiresAt > now) return hit.value
    // The clock starts before the load reads anything, so no value outlives ttlMs of its data.
    const entry: Entry<V> = { version, expiresAt: now + this.ttlMs, value: Promise.resolve(undefined as V) }
    entry.value = load().then((loaded) => {
      if (loaded.expiresAt !== undefined) entry.expiresAt = Math.min(entry.expiresAt, loaded.expiresAt)
      return loaded.value
    })
    entries.set(key, entry)
    entry.value.catch(() => {
      if (entries.peek(key) === entry) entries.delete(key)
    })
    return entry.value
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

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

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

  async ofEventList(): Promise<string> {
    return (await this.redis.get(eventListVersionKey(this.prefix))) ?? ''
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
