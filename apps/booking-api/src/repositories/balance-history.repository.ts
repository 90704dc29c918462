import type { BalanceChangeType, DbExecutor } from '@concert/db'

export interface HistoryEntry {
  accountId: string
  amount: number
  type: BalanceChangeType
  reservationId: number | null
  idempotencyKey: string | null
  balanceAfter: number
}

export async function insertHistory(db: DbExecutor, entry: HistoryEntry): Promise<void> {
  await db
    .insertInto('BALANCE_HISTORY')
    .values({
      account_id: entry.accountId,
      amount: entry.amount,
      type: entry.type,
      reservation_id: entry.reservationId,
      idempotency_key: entry.idempotencyKey,
      balance_after: entry.balanceAfter,
    })
    .execute()
}

/** The ledger row a request with this Idempotency-Key produced, if any. */
export function findByIdempotencyKey(db: DbExecutor, accountId: string, key: string) {
  return db
    .selectFrom('BALANCE_HISTORY')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
}
