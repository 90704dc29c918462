import type { Generated, Insertable, Selectable } from 'kysely'

export type BalanceChangeType = 'CHARGE' | 'PAYMENT' | 'REFUND'

/**
 * BALANCE_HISTORY: the ledger. An account's balance always equals the sum of
 * its rows' `amount` (positive for charges and refunds, negative for payments).
 */
export interface BalanceHistoryTable {
  id: Generated<number>
  account_id: string
  amount: number
  type: BalanceChangeType
  /** The reservation a PAYMENT paid for, or a REFUND gave back (one row per seat). */
  reservation_id: number | null
  /** Client-supplied Idempotency-Key; unique per account. */
  idempotency_key: string | null
  /** Balance right after this change, so a replayed request can answer exactly as the first did. */
  balance_after: number
  created_at: Generated<Date>
}

export type BalanceHistory = Selectable<BalanceHistoryTable>
export type NewBalanceHistory = Insertable<BalanceHistoryTable>
