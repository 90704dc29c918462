import { type BalanceChangeType, type DbExecutor, type Param, preparedPerCount } from '@concert/db'

export interface HistoryEntry {
  accountId: string
  amount: number
  type: BalanceChangeType
  reservationId: number | null
  idempotencyKey: string | null
  balanceAfter: number
}

const HISTORY_FIELDS = [
  'accountId',
  'amount',
  'type',
  'reservationId',
  'idempotencyKey',
  'balanceAfter',
] as const

/** An INSERT of `count` ledger rows; its values are named `<field><row>`. */
const insertHistoryStatement = preparedPerCount(
  (count) => (db, p: Param<Record<string, unknown>>) =>
    db.insertInto('BALANCE_HISTORY').values(
      Array.from({ length: count }, (_, i) => ({
        account_id: p(`accountId${i}`) as string,
        amount: p(`amount${i}`) as number,
        type: p(`type${i}`) as BalanceChangeType,
        reservation_id: p(`reservationId${i}`) as number | null,
        idempotency_key: p(`idempotencyKey${i}`) as string | null,
        balance_after: p(`balanceAfter${i}`) as number,
      })),
    ),
)

export async function insertHistory(
  db: DbExecutor,
  entries: HistoryEntry | readonly HistoryEntry[],
): Promise<void> {
  const rows = Array.isArray(entries) ? entries : [entries as HistoryEntry]
  if (rows.length === 0) return
  const values: Record<string, unknown> = {}
  rows.forEach((entry: HistoryEntry, i: number) => {
    for (const field of HISTORY_FIELDS) values[`${field}${i}`] = entry[field]
  })
  await insertHistoryStatement(rows.length).run(db, values)
}

/** A reservation's ledger row of one type: its PAYMENT (one per seat), or its REFUND if it was refunded. */
export function findReservationRow(db: DbExecutor, reservationId: number, type: 'PAYMENT' | 'REFUND') {
  return db
    .selectFrom('BALANCE_HISTORY')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .where('type', '=', type)
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
