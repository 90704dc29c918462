import { LRUCache } from 'lru-cache'

export interface ExistenceCacheOptions {
  /** How long a found id is trusted (0: not remembered). */
  hitTtlMs: number
  /** How long a missing id stays missing (kept short: the id may be created a moment later). */
  missTtlMs: number
  /** Entries kept at most; past that the least recently used ones are forgotten. */
  maxEntries: number
}

type Waiter = { resolve: (exists: boolean) => void; reject: (error: unknown) => void }

/**
 * Remembers which ids exist so a flash crowd does not turn into one MySQL
 * query per join: concurrent lookups are batched into one `IN (…)` query,
 * hits are kept for `hitTtlMs`, misses (likely typos or probes) briefly. The
 * memory is an LRU with per-entry TTLs (lru-cache), bounded by `maxEntries`.
 */
export class ExistenceCache<K extends string | number> {
  private readonly known: LRUCache<K, boolean>
  private pending = new Map<K, Waiter[]>()
  private scheduled = false

  constructor(
    private readonly lookup: (ids: K[]) => Promise<Iterable<K>>,
    private readonly options: ExistenceCacheOptions,
  ) {
    this.known = new LRUCache<K, boolean>({ max: options.maxEntries })
  }

  has(id: K): Promise<boolean> {
    const cached = this.known.get(id)
    if (cached !== undefined) return Promise.resolve(cached)
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(id)
      if (waiting) waiting.push({ resolve, reject })
      else this.pending.set(id, [{ resolve, reject }])
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => void this.flush())
      }
    })
  }

  private async flush(): Promise<void> {
    this.scheduled = false
    const pending = this.pending
    this.pending = new Map()
    const ids = [...pending.keys()]
    try {
      const found = new Set<K>()
      for (let start = 0; start < ids.length; start += 1000) {
        for (const id of await this.lookup(ids.slice(start, start + 1000))) found.add(id)
      }
      for (const id of ids) {
        const exists = found.has(id)
        const ttl = exists ? this.options.hitTtlMs : this.options.missTtlMs
        if (ttl > 0) this.known.set(id, exists, { ttl })
        for (const waiter of pending.get(id) ?? []) waiter.resolve(exists)
      }
    } catch (error) {
      for (const waiters of pending.values()) for (const waiter of waiters) waiter.reject(error)
    }
  }
}
