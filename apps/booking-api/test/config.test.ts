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

describe('ADMIN_API_KEYS', () => {
  it('is off by default and reads a comma-separated list for rotation', () => {
    expect(loadBookingConfig({}).adminApiKeys).toEqual([])
    expect(loadBookingConfig({ ADMIN_API_KEYS: ' ' }).adminApiKeys).toEqual([])
    expect(
      loadBookingConfig({ ADMIN_API_KEYS: 'first-key-0123456789, second-key-0123456789,' }).adminApiKeys,
    ).toEqual(['first-key-0123456789', 'second-key-0123456789'])
  })

  it('refuses a key too short to be a secret, without printing it', () => {
    const weak = 'short-key'
    let message = ''
    try {
      loadBookingConfig({ ADMIN_API_KEYS: `good-key-0123456789ab,${weak}` })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/ADMIN_API_KEYS: item 2 must be 16\.\.512 printable ASCII characters/)
    expect(message).not.toContain(weak)
  })
})
