import { LRUCache } from 'lru-cache'

/**
 * A small in-process cache for facts that change rarely (schedules, seat
 * layouts, prices): concurrent misses share one load, entries live `ttlMs`,
 * and past `maxEntries` the least recently used entry goes (lru-cache), so a
 * burst of rarely used keys never throws out the hot ones all at once.
 * `ttlMs` 0 turns caching off.
 */
export class TtlCache<K extends {}, V> {
  private readonly entries: LRUCache<K, Promise<V>> | undefined

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.entries = ttlMs > 0 ? new LRUCache({ max: maxEntries, ttl: ttlMs }) : undefined
  }

  get(key: K, load: () => Promise<V>): Promise<V> {
    if (!this.entries) return load()
    const hit = this.entries.get(key)
    if (hit) return hit
    const value = load()
    this.entries.set(key, value)
    // A failed load is not cached (unless a newer load already replaced it).
    value.catch(() => {
      if (this.entries?.peek(key) === value) this.entries.delete(key)
    })
    return value
  }

  /** Whether `get` would answer from the cache (no load). */
  has(key: K): boolean {
    return this.entries?.has(key) ?? false
  }

  /** Drops one entry, so the next get loads it afresh. */
  delete(key: K): void {
    this.entries?.delete(key)
  }
}
