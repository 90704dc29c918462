import type { BalanceChangeType, DbExecutor } from '@concert/db'

export interface HistoryEntry {
  accountId: string
  amount: number
  type: BalanceChangeType
  reservationId: number | null
  idempotencyKey: string | null
  balanceAfter: number
}

export async function insertHistory(
  db: DbExecutor,
  entries: HistoryEntry | readonly HistoryEntry[],
): Promise<void> {
  const rows = Array.isArray(entries) ? entries : [entries as HistoryEntry]
  if (rows.length === 0) return
  await db
    .insertInto('BALANCE_HISTORY')
    .values(
      rows.map((entry) => ({
        account_id: entry.accountId,
        amount: entry.amount,
        type: entry.type,
        reservation_id: entry.reservationId,
        idempotency_key: entry.idempotencyKey,
        balance_after: entry.balanceAfter,
      })),
    )
    .execute()
}

/** The REFUND row of a reservation, if it was refunded. */
export function findRefundRow(db: DbExecutor, reservationId: number) {
  return db
    .selectFrom('BALANCE_HISTORY')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .where('type', '=', 'REFUND')
    .executeTakeFirst()
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
