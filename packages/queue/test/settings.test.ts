import { describe, expect, it } from 'vitest'
import { loadQueueSettings, observedRate, pollAfterMs } from '../src/index.js'

describe('queue settings', () => {
  it('defaults to SPEC §4', () => {
    expect(loadQueueSettings({})).toEqual({
      maxActive: 200,
      admitPerSecond: 50,
      activeTtlSeconds: 300,
      waitingIdleSeconds: 120,
      expiredRetentionSeconds: 900,
    })
  })

  it('reads overrides and refuses nonsense', () => {
    expect(loadQueueSettings({ QUEUE_MAX_ACTIVE: '5', QUEUE_ADMIT_PER_SECOND: '20' })).toMatchObject({
      maxActive: 5,
      admitPerSecond: 20,
    })
    expect(() => loadQueueSettings({ QUEUE_ADMIT_PER_SECOND: '0' })).toThrow(/QUEUE_ADMIT_PER_SECOND/)
    // Expired tokens must answer polls for at least ten minutes.
    expect(() => loadQueueSettings({ QUEUE_EXPIRED_RETENTION_SECONDS: '60' })).toThrow(/between 600/)
  })
})

describe('ETA and poll hints', () => {
  const facts = (over: Partial<Parameters<typeof observedRate>[0]>) => ({
    rank: 0,
    now: 100_000,
    admittedLastMinute: 0,
    firstAdmitAt: null,
    ...over,
  })

  it('uses the configured rate before there are five seconds of history', () => {
    expect(observedRate(facts({}), 50)).toBe(50)
    expect(observedRate(facts({ firstAdmitAt: 98_000, admittedLastMinute: 3 }), 50)).toBe(50)
  })

  it('uses admissions over the observed window, up to a minute', () => {
    expect(observedRate(facts({ firstAdmitAt: 90_000, admittedLastMinute: 100 }), 50)).toBe(10)
    expect(observedRate(facts({ firstAdmitAt: 0, admittedLastMinute: 600 }), 50)).toBe(10)
    // A stalled queue still yields a finite ETA.
    expect(observedRate(facts({ firstAdmitAt: 0, admittedLastMinute: 0 }), 50)).toBeCloseTo(1 / 60)
  })

  it('asks fans far back to poll less often, never slower than a third of the idle window', () => {
    expect(pollAfterMs('WAITING', 1, 120)).toBe(1_000)
    expect(pollAfterMs('WAITING', 400, 120)).toBe(2_000)
    expect(pollAfterMs('WAITING', 4_000, 120)).toBe(5_000)
    expect(pollAfterMs('WAITING', 40_000, 120)).toBe(10_000)
    expect(pollAfterMs('WAITING', 40_000, 6)).toBe(2_000)
    expect(pollAfterMs('EXPIRED', 0, 120)).toBe(0)
  })
})
