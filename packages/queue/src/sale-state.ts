/**
 * The states of an event's sale (SPEC §8), the one list: the API's schemas and
 * metrics follow it, and the Lua scripts get it as the table `SALE` (scripts.ts),
 * where includes/sale.lua derives the state on the Redis clock.
 */
export const SALE_STATES = ['SCHEDULED', 'PRE_QUEUE', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED'] as const
export type SaleState = (typeof SALE_STATES)[number]

/** What the state of a sale follows from (SaleSettings' part). */
export interface SaleFacts {
  opensAt: Date | null
  closesAt: Date | null
  preQueueMinutes: number
  paused: boolean
  soldOut: boolean
}

/**
 * The sale's state at `now` (ms), as includes/sale.lua derives it on the Redis clock, for
 * readers outside a script (the public events list). One difference: a sale past its
 * opening whose pre-queue is not drawn yet is PRE_QUEUE there, for the moment the draw
 * takes; here it is already OPEN. sale-state.test.ts checks the two agree otherwise.
 */
export function saleStateAt(s: SaleFacts, now: number): SaleState {
  if (s.closesAt && now >= s.closesAt.getTime()) return 'CLOSED'
  if (s.opensAt && now < s.opensAt.getTime()) {
    return now >= s.opensAt.getTime() - s.preQueueMinutes * 60_000 ? 'PRE_QUEUE' : 'SCHEDULED'
  }
  if (s.soldOut) return 'SOLD_OUT'
  if (s.paused) return 'PAUSED'
  return 'OPEN'
}
