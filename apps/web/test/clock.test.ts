import { afterEach, describe, expect, it } from 'vitest'
import { forgetServerDates, noteServerDate, serverNow } from '../src/clock.js'
import { jittered } from '../src/ticket.js'

/*
 * The countdowns run on the servers' clock once this device's is off by more than the
 * Date header's one-second grain (clock.ts); the browser side is in seat-map.test.ts (a
 * page whose clock is 10 minutes fast still counts the buying window from 5:00).
 */
afterEach(forgetServerDates)

describe('serverNow', () => {
  it('follows a server clock minutes away, and ignores the header’s own second of grain', () => {
    const now = Date.now()
    noteServerDate(new Date(now + 5 * 60_000).toUTCString(), now)
    expect(Math.abs(serverNow() - (Date.now() + 5 * 60_000))).toBeLessThan(1_500)

    forgetServerDates()
    noteServerDate(new Date(now - 3 * 60_000).toUTCString(), now)
    expect(Math.abs(serverNow() - (Date.now() - 3 * 60_000))).toBeLessThan(1_500)

    // Within two seconds: this device's clock, as it is.
    forgetServerDates()
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

  it('an answer slow on its way does not drag the clock back: the least delayed of the last answers counts', () => {
    const now = Date.now()
    noteServerDate(new Date(now + 5 * 60_000).toUTCString(), now)
    // Sent by the server at the same moment, received 3 s later.
    noteServerDate(new Date(now + 5 * 60_000).toUTCString(), now + 3_000)
    expect(Math.abs(serverNow() - (Date.now() + 5 * 60_000))).toBeLessThan(1_500)
  })
})

describe('jittered', () => {
  it('spreads a pause over ±10 %', () => {
    expect(jittered(10_000, 0)).toBe(9_000)
    expect(jittered(10_000, 0.5)).toBe(10_000)
    expect(jittered(10_000, 1)).toBe(11_000)
  })
})
