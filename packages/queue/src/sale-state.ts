/**
 * The states of an event's sale (SPEC §8), the one list: the API's schemas and
 * metrics follow it, and the Lua scripts get it as the table `SALE` (scripts.ts),
 * where includes/sale.lua derives the state on the Redis clock.
 */
export const SALE_STATES = ['SCHEDULED', 'PRE_QUEUE', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED'] as const
export type SaleState = (typeof SALE_STATES)[number]
