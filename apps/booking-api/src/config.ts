import { loadQueueSettings, type QueueSettings } from '@concert/queue'
import { type Env, loadServiceConfig, readInt, readSecretList, type ServiceConfig } from '@concert/shared'

export interface BookingConfig extends ServiceConfig {
  /** Shared with the gateway: how long a paid token stays readable as EXPIRED. */
  queue: QueueSettings
  /** TTL of the per-seat Redis lock; far above a reservation transaction's p99. */
  seatLockTtlMs: number
  /** Longest time a cached seat map may lag behind a sale made on another copy. */
  seatMapCacheMs: number
  /** Bearer keys of the operator API (several, for rotation); none: the admin routes answer 503. */
  adminApiKeys: string[]
}

export function loadBookingConfig(env: Env = process.env): BookingConfig {
  return {
    ...loadServiceConfig(env, 'BOOKING_PORT', 3001),
    queue: loadQueueSettings(env),
    seatLockTtlMs: readInt(env, 'SEAT_LOCK_TTL_MS', 10_000, { min: 100, max: 600_000 }),
    seatMapCacheMs: readInt(env, 'SEAT_MAP_CACHE_MS', 1_000, { min: 0, max: 60_000 }),
    adminApiKeys: readSecretList(env, 'ADMIN_API_KEYS', { minLength: 16 }),
  }
}
