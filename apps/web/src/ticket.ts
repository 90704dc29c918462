import type { Ticket } from '@concert/client'

/** SPEC §8: the sale state a ticket carries. */
export type QueueState = Ticket['queueState']

/**
 * A ticket as the gateway sends it (SPEC §8: `queueState`, `opensAt`, and
 * `position: null` while the pre-queue waits for its draw). The §8 fields are
 * optional here so a ticket from an older gateway reads as an OPEN sale.
 */
export type LiveTicket = Omit<Ticket, 'queueState' | 'opensAt'> & {
  queueState?: QueueState
  opensAt?: string | null
}

/** Polls never come closer than this, whatever `pollAfterMs` says. */
export const POLL_MIN_MS = 1_000
/**
 * Nor further apart than this while the page follows a waiting ticket by polling: the sale
 * can turn SOLD_OUT, CLOSED or PAUSED at any moment, and issue 13 wants a waiting page to
 * say "Sold out" within 2 s of the last sale, with or without the stream. 1.5 s between
 * polls leaves half a second for the answer and the render; the gateway's `pollAfterMs`
 * (up to 10 s far back in a long queue) only spaces out the fans who stay on the stream.
 */
export const POLL_MAX_MS = 1_500

/** How long the polling fallback waits before asking for the ticket again. */
export function pollDelay(ticket: Pick<LiveTicket, 'pollAfterMs'>): number {
  return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, ticket.pollAfterMs || POLL_MIN_MS))
}

/** What the waiting room shows, derived from one ticket. */
export type WaitingView =
  | { kind: 'pre-queue'; opensAt: string | undefined }
  | { kind: 'waiting'; position: number; paused: boolean }
  | { kind: 'ready' }
  | { kind: 'sold-out' }
  | { kind: 'closed' }
  | { kind: 'ended'; reason: string | null }

export function waitingView(ticket: LiveTicket): WaitingView {
  if (ticket.status === 'EXPIRED') {
    if (ticket.reason === 'SOLD_OUT' || ticket.queueState === 'SOLD_OUT') return { kind: 'sold-out' }
    if (ticket.reason === 'SALE_CLOSED' || ticket.queueState === 'CLOSED') return { kind: 'closed' }
    return { kind: 'ended', reason: ticket.reason }
  }
  if (ticket.status === 'READY') return { kind: 'ready' }
  if (ticket.queueState === 'SOLD_OUT') return { kind: 'sold-out' }
  if (ticket.queueState === 'CLOSED') return { kind: 'closed' }
  if (ticket.queueState === 'PRE_QUEUE' || ticket.position === null) {
    return { kind: 'pre-queue', opensAt: ticket.opensAt ?? undefined }
  }
  return { kind: 'waiting', position: ticket.position, paused: ticket.queueState === 'PAUSED' }
}

/** Why a ticket ended, in the fan's words. */
export function endedMessage(reason: string | null): string {
  switch (reason) {
    case 'COMPLETED':
      return 'You have bought your tickets with this place in the queue.'
    case 'TIMEOUT':
      return 'Your time to buy ran out. Join the queue again to try once more.'
    case 'ABANDONED':
      return 'You were away too long and lost your place. Join the queue again.'
    case 'LEFT':
      return 'You left the queue.'
    default:
      return 'Your place in the queue has ended. Join the queue again.'
  }
}

/** 0..1: how far the fan has come from the place they were first given. */
export function progressOf(firstPosition: number | null, position: number): number {
  if (!firstPosition || firstPosition <= 1) return position <= 1 ? 1 : 0
  return Math.min(1, Math.max(0, (firstPosition - position) / (firstPosition - 1)))
}

/**
 * How long to wait before asking to join again a sale that has not opened its waiting room
 * (SALE_NOT_OPEN): the room opens `preQueueMinutes` before `opensAt` (SPEC §8), a figure the
 * page is not told, and everyone in it by then is placed ahead of anyone after the opening.
 * So the page asks every 30 s, and more often as the opening nears (a tenth of the time left,
 * at least every 2 s).
 */
export function saleNotOpenRetryMs(opensAt: string | undefined, now = Date.now()): number {
  const left = opensAt ? Date.parse(opensAt) - now : Number.NaN
  if (!Number.isFinite(left)) return 30_000
  return Math.round(Math.min(30_000, Math.max(2_000, left / 10)))
}

/** `ms` ±10 %, so the pages waiting for one opening do not all ask at the same instant. */
export function jittered(ms: number, random = Math.random()): number {
  return Math.round(ms * (0.9 + 0.2 * random))
}
