import { type Database, type DbExecutor, openAccounts, type Param, prepare } from '@concert/db'
import { type QueryCreator, sql, type Transaction } from 'kysely'

/** INT column limit of ACCOUNT.amount. */
export const MAX_BALANCE = 2_147_483_647

export function findAccount(db: DbExecutor, id: string) {
  return db.selectFrom('ACCOUNT').selectAll().where('id', '=', id).executeTakeFirst()
}

/** A new account with no money; its first CHARGE starts the ledger. */
export async function insertAccount(db: DbExecutor, account: { id: string; email: string; name: string }) {
  await openAccounts(db, [{ ...account, balance: 0 }])
}

const lockStatement = prepare((db, p: Param<{ id: string }>) =>
  db.selectFrom('ACCOUNT').select('id').where('id', '=', p('id')).forUpdate(),
)

/** Locks the row (a locking read) and tells whether the account exists. */
async function lockRow(db: DbExecutor, id: string): Promise<boolean> {
  const { rows } = await lockStatement.run(db, { id })
  return rows.length === 1
}

/** Locks the account row for the rest of the transaction: every money-moving transaction takes it first. */
export function lockAccount(trx: Transaction<Database>, id: string): Promise<boolean> {
  return lockRow(trx, id)
}

/** The account's balance, as a statement of its own or a subquery (payment-checks). */
export function balanceQuery(db: Pick<QueryCreator<Database>, 'selectFrom'>, id: string) {
  return db.selectFrom('ACCOUNT').select('amount').where('id', '=', id)
}

const balanceStatement = prepare((db, p: Param<{ id: string }>) => balanceQuery(db, p('id')))

export async function balanceOf(db: DbExecutor, id: string): Promise<number | undefined> {
  const { rows } = await balanceStatement.run(db, { id })
  return rows[0]?.amount
}

/**
 * Atomic increment that refuses to pass the INT limit; false when refused or no such account.
 * Adding 0 (refunding a free seat) changes no row, which the pool does not count as
 * affected (it counts changed rows, connection.ts): that is a locking read of the row.
 */
export async function addToBalance(db: DbExecutor, id: string, amount: number): Promise<boolean> {
  if (amount === 0) return lockRow(db, id)
  const result = await db
    .updateTable('ACCOUNT')
    .set({ amount: sql`amount + ${amount}` })
    .where('id', '=', id)
    .where('amount', '<=', MAX_BALANCE - amount)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

const debitStatement = prepare((db, p: Param<{ id: string; amount: number }>) =>
  db
    .updateTable('ACCOUNT')
    .set({ amount: sql`amount - ${p('amount')}` })
    .where('id', '=', p('id'))
    .where('amount', '>=', p('amount')),
)

/**
 * Guarded decrement: never below zero; false when the balance is short or there is no such
 * account. When it is true the account row is locked from here on, as every money-moving
 * transaction locks it first. A free order (0) changes no row, which the pool does not
 * count as affected (it counts changed rows, connection.ts): that is a locking read.
 */
export async function deductFromBalance(db: DbExecutor, id: string, amount: number): Promise<boolean> {
  if (amount === 0) return lockRow(db, id)
  const result = await debitStatement.run(db, { id, amount })
  return Number(result.numAffectedRows) === 1
}
