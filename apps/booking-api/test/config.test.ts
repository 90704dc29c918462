import { describe, expect, it } from 'vitest'
import { loadBookingConfig } from '../src/config.js'

describe('booking configuration', () => {
  it('defaults: port 3001, 3 s seat locks and claims (kept alive), 1 s seat-map cache', () => {
    const config = loadBookingConfig({})
    expect(config.http.port).toBe(3001)
    expect(config).toMatchObject({
      seatLockTtlMs: 3_000,
      claimTtlMs: 3_000,
      claimWaitMs: 2_000,
      seatMapCacheMs: 1_000,
    })
  })

  it('reads overrides and refuses nonsense', () => {
    expect(loadBookingConfig({ SEAT_LOCK_TTL_MS: '5000', SEAT_MAP_CACHE_MS: '0' })).toMatchObject({
      seatLockTtlMs: 5_000,
      seatMapCacheMs: 0,
    })
    expect(() => loadBookingConfig({ SEAT_LOCK_TTL_MS: '10' })).toThrow(/SEAT_LOCK_TTL_MS/)
  })

  it('caches the catalogue for a minute unless CATALOG_CACHE_MS says otherwise', () => {
    expect(loadBookingConfig({}).catalogCacheMs).toBe(60_000)
    expect(loadBookingConfig({ CATALOG_CACHE_MS: '0' }).catalogCacheMs).toBe(0)
    expect(() => loadBookingConfig({ CATALOG_CACHE_MS: '-1' })).toThrow(/CATALOG_CACHE_MS/)
  })
})
