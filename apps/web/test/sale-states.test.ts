import { ERROR_STATUS } from '@concert/shared'
import { describe, expect, it } from 'vitest'
import { PROBLEM_MESSAGES } from '../src/problems.js'
import {
  type LiveTicket,
  POLL_MAX_MS,
  pollDelay,
  progressOf,
  saleNotOpenRetryMs,
  waitingView,
} from '../src/ticket.js'

/*
 * What the waiting room makes of a ticket, including the SPEC §8 fields the sale
 * lifecycle adds (queueState, opensAt, position null before the draw), and how often
 * it polls without a stream. The browser shows the states in sale-lifecycle.test.ts
 * (countdown then place, sold out within 2 s) and screens.test.ts (each on a phone);
 * these pin down how the page reads those fields.
 */
const waiting: LiveTicket = {
  token: '1.abc',
  accountId: 'fan',
  eventId: 1,
  status: 'WAITING',
  position: 7,
  estimatedWaitSeconds: 3,
  issuedAt: '2026-11-25T10:00:00.000Z',
  readyAt: null,
  expiresAt: null,
  reason: null,
  pollAfterMs: 1000,
}

describe('waitingView', () => {
  it('reads a v1 ticket (no queueState) as an open sale', () => {
    expect(waitingView(waiting)).toEqual({ kind: 'waiting', position: 7, paused: false })
    expect(waitingView({ ...waiting, status: 'READY', position: 0 })).toEqual({ kind: 'ready' })
    expect(waitingView({ ...waiting, status: 'EXPIRED', position: 0, reason: 'LEFT' })).toEqual({
      kind: 'ended',
      reason: 'LEFT',
    })
  })

  it('shows the pre-queue countdown before the draw: PRE_QUEUE, or a WAITING ticket without a place', () => {
    const opensAt = '2026-11-25T11:00:00.000Z'
    expect(waitingView({ ...waiting, position: null, queueState: 'PRE_QUEUE', opensAt })).toEqual({
      kind: 'pre-queue',
      opensAt,
    })
    expect(waitingView({ ...waiting, position: null })).toEqual({ kind: 'pre-queue', opensAt: undefined })
    // After the draw the same ticket has a place and the sale is OPEN.
    expect(waitingView({ ...waiting, position: 3, queueState: 'OPEN', opensAt })).toEqual({
      kind: 'waiting',
      position: 3,
      paused: false,
    })
  })

  it('keeps the place on PAUSED, and switches to sold out or closed from the state or the expiry reason', () => {
    expect(waitingView({ ...waiting, queueState: 'PAUSED' })).toEqual({
      kind: 'waiting',
      position: 7,
      paused: true,
    })
    expect(waitingView({ ...waiting, queueState: 'SOLD_OUT' })).toEqual({ kind: 'sold-out' })
    expect(waitingView({ ...waiting, status: 'EXPIRED', reason: 'SOLD_OUT' })).toEqual({ kind: 'sold-out' })
    expect(waitingView({ ...waiting, queueState: 'CLOSED' })).toEqual({ kind: 'closed' })
    expect(waitingView({ ...waiting, status: 'EXPIRED', reason: 'SALE_CLOSED' })).toEqual({ kind: 'closed' })
  })
})

describe('pollDelay', () => {
  it('follows pollAfterMs between 1 s and 1.5 s, so a sell-out reaches a polling page within 2 s', () => {
    expect(pollDelay({ pollAfterMs: 1_000 })).toBe(1_000)
    expect(pollDelay({ pollAfterMs: 1_200 })).toBe(1_200)
    // Far back in a long queue the gateway says 2, 5 or 10 s: the page still asks every 1.5 s.
    for (const pollAfterMs of [2_000, 5_000, 10_000]) expect(pollDelay({ pollAfterMs })).toBe(POLL_MAX_MS)
    expect(POLL_MAX_MS).toBe(1_500)
    expect(pollDelay({ pollAfterMs: 500 })).toBe(1_000)
    expect(pollDelay({ pollAfterMs: 0 })).toBe(1_000)
  })
})

describe('progressOf', () => {
  it('runs from 0 at the first place to 1 at the head', () => {
    expect(progressOf(11, 11)).toBe(0)
    expect(progressOf(11, 6)).toBe(0.5)
    expect(progressOf(11, 1)).toBe(1)
    expect(progressOf(1, 1)).toBe(1)
    expect(progressOf(null, 4)).toBe(0)
  })
})

describe('PROBLEM_MESSAGES', () => {
  it('has a sentence for every code of the error catalogue, never the bare code', () => {
    for (const code of Object.keys(ERROR_STATUS)) {
      const message = PROBLEM_MESSAGES[code as keyof typeof PROBLEM_MESSAGES]
      expect(message, code).toMatch(/^[A-Z].{15,}[.)]$/)
      expect(message, code).not.toContain(code)
    }
  })
})

describe('saleNotOpenRetryMs', () => {
  const now = Date.parse('2026-11-25T10:00:00.000Z')
  const inMs = (ms: number) => new Date(now + ms).toISOString()
  it('asks to join again every 30 s far from the opening, a tenth of the time left nearer, at least every 2 s', () => {
    expect(saleNotOpenRetryMs(inMs(3_600_000), now)).toBe(30_000)
    expect(saleNotOpenRetryMs(inMs(300_000), now)).toBe(30_000)
    expect(saleNotOpenRetryMs(inMs(120_000), now)).toBe(12_000)
    expect(saleNotOpenRetryMs(inMs(30_000), now)).toBe(3_000)
    expect(saleNotOpenRetryMs(inMs(5_000), now)).toBe(2_000)
    // Past the opening (clocks differ): soon.
    expect(saleNotOpenRetryMs(inMs(-10_000), now)).toBe(2_000)
    // No opening time in the problem: the slow pace.
    expect(saleNotOpenRetryMs(undefined, now)).toBe(30_000)
    expect(saleNotOpenRetryMs('not a date', now)).toBe(30_000)
  })
})
