import { loadQueueSettings, loadQueueTuning, type QueueSettings, type QueueTuning } from '@concert/queue'
import { type Env, loadServiceConfig, readInt, readSecretList, type ServiceConfig } from '@concert/shared'

export interface BookingConfig extends ServiceConfig {
  /** Shared with the gateway: how long a paid token stays readable as EXPIRED. */
  queue: QueueSettings
  /** Engine tunables (batch sizes, takeover times). */
  queueTuning: QueueTuning
  /** TTL of the per-seat Redis lock; far above a reservation transaction's p99. */
  seatLockTtlMs: number
  /** TTL of a payment's claim on its queue token; kept alive while the payment runs, so a dead copy's claim lapses this fast. */
  claimTtlMs: number
  /** How long a request waits for another payment holding the same token before answering 409 TOKEN_BUSY. */
  claimWaitMs: number
  /** Longest time a cached seat map may lag behind a sale made on another copy. */
  seatMapCacheMs: number
  /** How long schedules, events and priced seat layouts stay cached in process (they change by deployment). */
  catalogCacheMs: number
  /** Bearer keys of the operator API (several, for rotation); none: the admin routes answer 503. */
  adminApiKeys: string[]
}

export function loadBookingConfig(env: Env = process.env): BookingConfig {
  return {
    ...loadServiceConfig(env, 'BOOKING_PORT', 3001),
    queue: loadQueueSettings(env),
    queueTuning: loadQueueTuning(env),
    seatLockTtlMs: readInt(env, 'SEAT_LOCK_TTL_MS', 3_000, { min: 100, max: 600_000 }),
    claimTtlMs: readInt(env, 'CLAIM_TTL_MS', 3_000, { min: 100, max: 600_000 }),
    claimWaitMs: readInt(env, 'CLAIM_WAIT_MS', 2_000, { min: 0, max: 60_000 }),
    seatMapCacheMs: readInt(env, 'SEAT_MAP_CACHE_MS', 1_000, { min: 0, max: 60_000 }),
    catalogCacheMs: readInt(env, 'CATALOG_CACHE_MS', 60_000, { min: 0, max: 3_600_000 }),
    adminApiKeys: readSecretList(env, 'ADMIN_API_KEYS', { minLength: 16 }),
  }
}
