import type { QueueTokenStatus } from '@concert/db'
import type { SaleState } from './sale-state.js'
import type { Ticket } from './ticket-schema.js'
import { optionalNumber, type TokenState } from './token-state.js'

/** Live facts returned beside the state by the join and poll scripts. */
export interface QueueFacts {
  /** 0-based rank among WAITING tokens, or null when not waiting. */
  rank: number | null
  now: number
  admittedLastMinute: number
  firstAdmitAt: number | null
  /** The sale's state (SPEC §8); OPEN when the event has no sale settings. */
  saleState?: SaleState
  /** When the sale opens (ms), if it has an opening. */
  opensAt?: number | null
  /** The event's own admission rate and idle window, when set (they override the defaults). */
  admitPerSecond?: number | null
  waitingIdleMs?: number | null
}

export function toFacts(fields: Record<string, string>): QueueFacts {
  return {
    rank: optionalNumber(fields._rank),
    now: Number(fields._now),
    admittedLastMinute: Number(fields._admitted60 ?? 0),
    firstAdmitAt: optionalNumber(fields._firstAdmitAt),
    saleState: (fields._state || 'OPEN') as SaleState,
    opensAt: optionalNumber(fields._opensAt),
    admitPerSecond: optionalNumber(fields._rate),
    waitingIdleMs: optionalNumber(fields._idleMs),
  }
}

/**
 * Admissions per second observed over the last minute; the configured rate
 * until there are at least five seconds of history. Never 0, so an ETA is
 * always finite (a stalled queue shows a long wait rather than none).
 */
export function observedRate(facts: QueueFacts, configuredRate: number): number {
  if (facts.firstAdmitAt === null || facts.now - facts.firstAdmitAt < 5_000) return configuredRate
  const windowSeconds = Math.min(60, (facts.now - facts.firstAdmitAt) / 1000)
  return Math.max(facts.admittedLastMinute / windowSeconds, 1 / 60)
}

/**
 * Fans near the head poll often, those far back rarely; always well inside
 * the abandonment window so a fan who follows the hint is never dropped.
 */
export function pollAfterMs(status: QueueTokenStatus, position: number, waitingIdleSeconds: number): number {
  if (status === 'EXPIRED') return 0
  const ceiling = Math.max(500, Math.floor((waitingIdleSeconds * 1000) / 3))
  if (status === 'READY') return Math.min(10_000, ceiling)
  const hint = position <= 50 ? 1_000 : position <= 500 ? 2_000 : position <= 5_000 ? 5_000 : 10_000
  return Math.min(hint, ceiling)
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function toTicket(
  state: TokenState,
  facts: QueueFacts,
  settings: { admitPerSecond: number; waitingIdleSeconds: number },
): Ticket {
  const waiting = state.status === 'WAITING'
  const queueState = facts.saleState ?? 'OPEN'
  // In the pre-queue nobody has a place yet: the draw at opening gives them one.
  const placed = !(waiting && queueState === 'PRE_QUEUE')
  const position = waiting && facts.rank !== null ? facts.rank + 1 : 0
  const admitPerSecond = facts.admitPerSecond ?? settings.admitPerSecond
  const waitingIdleSeconds = facts.waitingIdleMs ? facts.waitingIdleMs / 1000 : settings.waitingIdleSeconds
  return {
    token: state.token,
    accountId: state.accountId,
    eventId: state.eventId,
    status: state.status,
    position: placed ? position : null,
    // SPEC §4: people ahead ÷ the observed admission rate.
    estimatedWaitSeconds:
      waiting && placed ? Math.ceil((position - 1) / observedRate(facts, admitPerSecond)) : null,
    issuedAt: iso(state.issuedAt) ?? '',
    readyAt: iso(state.readyAt),
    expiresAt: iso(state.expiresAt),
    reason: state.reason,
    pollAfterMs: pollAfterMs(state.status, placed ? position : 1, waitingIdleSeconds),
    queueState,
    opensAt: iso(facts.opensAt ?? null),
  }
}
