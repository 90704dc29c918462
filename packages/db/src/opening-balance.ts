import type { DbExecutor } from './connection.js'

export interface OpeningAccount {
  id: string
  email: string
  name: string
  /** Whole won the account starts with; 0 for none. */
  balance: number
}

/** Rows per INSERT: far below MySQL's placeholder limit, small enough for one round trip. */
const CHUNK = 1_000

/**
 * Creates accounts with their opening balance: the one place ACCOUNT rows are
 * made (the booking API's POST /v1/accounts, the demo seed, test and benchmark
 * fixtures). A non-zero opening balance is written as a CHARGE ledger row beside
 * the account, so balance = sum(BALANCE_HISTORY) holds from the first row. Pass a
 * transaction when the two inserts must commit together. A taken id or email
 * fails with MySQL's duplicate-key error.
 */
export async function openAccounts(db: DbExecutor, accounts: readonly OpeningAccount[]): Promise<void> {
  for (let start = 0; start < accounts.length; start += CHUNK) {
    const chunk = accounts.slice(start, start + CHUNK)
    await db
      .insertInto('ACCOUNT')
      .values(chunk.map(({ id, email, name, balance }) => ({ id, email, name, amount: balance })))
      .execute()
    const funded = chunk.filter((account) => account.balance > 0)
    if (funded.length === 0) continue
    await db
      .insertInto('BALANCE_HISTORY')
      .values(
        funded.map((account) => ({
          account_id: account.id,
          amount: account.balance,
          type: 'CHARGE' as const,
          reservation_id: null,
          idempotency_key: null,
          balance_after: account.balance,
        })),
      )
      .execute()
  }
}
