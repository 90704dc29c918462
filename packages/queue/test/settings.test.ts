import { describe, expect, it } from 'vitest'
import { loadQueueSettings, loadQueueTuning, observedRate, pollAfterMs, toTicket } from '../src/index.js'

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

describe('queue tuning', () => {
  it('defaults: the mirror backlog bound is about 2 s of peak joins (≈ 2,000/s measured)', () => {
    expect(loadQueueTuning({})).toEqual({
      admitBatch: 1_000,
      mirrorBatchSize: 500,
      mirrorClaimIdleMs: 5_000,
      mirrorMaxBacklog: 4_000,
      recoveryLockTtlMs: 30_000,
      soldSeatMarkerMs: 600_000,
    })
  })

  it('reads overrides and refuses nonsense', () => {
    expect(loadQueueTuning({ MIRROR_MAX_BACKLOG: '400', MIRROR_BATCH_SIZE: '50' })).toMatchObject({
      mirrorMaxBacklog: 400,
      mirrorBatchSize: 50,
    })
    expect(() => loadQueueTuning({ MIRROR_MAX_BACKLOG: '0' })).toThrow(/MIRROR_MAX_BACKLOG/)
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

  it('ETA = people ahead ÷ rate, rounded up; null unless WAITING', () => {
    const state = {
      token: '1.x',
      accountId: 'a',
      eventId: 1,
      place: 7,
      status: 'WAITING' as const,
      reason: null,
      issuedAt: 0,
      readyAt: null,
      expiresAt: null,
      version: 1,
    }
    const settings = { admitPerSecond: 50, waitingIdleSeconds: 120 }
    expect(toTicket(state, facts({ rank: 0 }), settings)).toMatchObject({
      position: 1,
      estimatedWaitSeconds: 0,
    })
    expect(toTicket(state, facts({ rank: 100 }), settings)).toMatchObject({
      position: 101,
      estimatedWaitSeconds: 2,
    })
    expect(toTicket(state, facts({ rank: 101 }), settings).estimatedWaitSeconds).toBe(3)
    expect(toTicket({ ...state, status: 'READY' }, facts({ rank: null }), settings)).toMatchObject({
      position: 0,
      estimatedWaitSeconds: null,
    })
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
