import { afterEach, describe, expect, it } from 'vitest'
import { noteServerDate, serverNow } from '../src/clock.js'

/*
 * The countdowns run on the servers' clock once this device's is off by more than the
 * Date header's one-second grain (clock.ts); the browser side is in seat-map.test.ts (a
 * page whose clock is 10 minutes fast still counts the buying window from 5:00).
 */
afterEach(() => noteServerDate(new Date().toUTCString()))

describe('serverNow', () => {
  it('follows a server clock minutes away, and ignores the header’s own second of grain', () => {
    const now = Date.now()
    noteServerDate(new Date(now + 5 * 60_000).toUTCString(), now)
    expect(Math.abs(serverNow() - (Date.now() + 5 * 60_000))).toBeLessThan(1_500)

    noteServerDate(new Date(now - 3 * 60_000).toUTCString(), now)
    expect(Math.abs(serverNow() - (Date.now() - 3 * 60_000))).toBeLessThan(1_500)

    // Within two seconds: this device's clock, as it is.
    noteServerDate(new Date(now + 1_000).toUTCString(), now)
    const before = Date.now()
    const read = serverNow()
    expect(read).toBeGreaterThanOrEqual(before)
    expect(read).toBeLessThanOrEqual(Date.now())
  })

  it('ignores a missing or unreadable header', () => {
    const now = Date.now()
    noteServerDate(new Date(now + 5 * 60_000).toUTCString(), now)
    noteServerDate(null)
    noteServerDate('not a date')
    expect(Math.abs(serverNow() - (Date.now() + 5 * 60_000))).toBeLessThan(1_500)
  })
})
