import { type DbExecutor, openAccounts } from '@concert/db'
import { sql } from 'kysely'

/** INT column limit of ACCOUNT.amount. */
export const MAX_BALANCE = 2_147_483_647

export function findAccount(db: DbExecutor, id: string) {
  return db.selectFrom('ACCOUNT').selectAll().where('id', '=', id).executeTakeFirst()
}

/** A new account with no money; its first CHARGE starts the ledger. */
export async function insertAccount(db: DbExecutor, account: { id: string; email: string; name: string }) {
  await openAccounts(db, [{ ...account, balance: 0 }])
}

export async function balanceOf(db: DbExecutor, id: string): Promise<number | undefined> {
  const row = await db.selectFrom('ACCOUNT').select('amount').where('id', '=', id).executeTakeFirst()
  return row?.amount
}

/** Atomic increment that refuses to pass the INT limit; false when refused or no such account. */
export async function addToBalance(db: DbExecutor, id: string, amount: number): Promise<boolean> {
  const result = await db
    .updateTable('ACCOUNT')
    .set({ amount: sql`amount + ${amount}` })
    .where('id', '=', id)
    .where('amount', '<=', MAX_BALANCE - amount)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/** Guarded decrement: never below zero; false when the balance is short. */
export async function deductFromBalance(db: DbExecutor, id: string, amount: number): Promise<boolean> {
  const result = await db
    .updateTable('ACCOUNT')
    .set({ amount: sql`amount - ${amount}` })
    .where('id', '=', id)
    .where('amount', '>=', amount)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
