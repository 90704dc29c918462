/**
 * A small in-process cache for facts that change rarely (schedules, seat
 * layouts, prices): concurrent misses share one load, entries live `ttlMs`.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: Promise<V>; until: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key)
    if (hit && hit.until > Date.now()) return hit.value
    if (this.entries.size >= this.maxEntries) this.entries.clear()
    const value = load()
    this.entries.set(key, { value, until: Date.now() + this.ttlMs })
    // A failed load is not cached.
    value.catch(() => this.entries.delete(key))
    return value
  }

  /** Drops one entry, so the next get loads it afresh. */
  delete(key: K): void {
    this.entries.delete(key)
  }
}
