import { type BalanceHistory, type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { addToBalance, balanceOf, findAccount, MAX_BALANCE } from '../repositories/accounts.repository.js'
import { insertHistory } from '../repositories/balance-history.repository.js'
import type { Charge } from '../schemas.js'
import { replayByIdempotencyKey } from './idempotency.js'

export const MIN_CHARGE = 1
export const MAX_CHARGE = 10_000_000

/** The answer a charge of `amount` gave, rebuilt from its ledger row; undefined for any other request. */
const earlierCharge =
  (amount: number) =>
  (row: BalanceHistory): Charge | undefined =>
    row.type === 'CHARGE' && row.amount === amount
      ? { accountId: row.account_id, balance: row.balance_after, charged: row.amount }
      : undefined

/**
 * Adds money: the increment (guarded against the INT limit) and its CHARGE
 * ledger row commit together. With an Idempotency-Key the ledger row's unique
 * (account, key) makes parallel retries wait for the first; they then replay
 * its answer, and the money moves once.
 */
export async function chargeBalance(
  db: Kysely<Database>,
  request: { accountId: string; amount: number; idempotencyKey?: string | undefined },
): Promise<Charge & { replayed: boolean }> {
  const { accountId, amount, idempotencyKey } = request
  if (!Number.isInteger(amount) || amount < MIN_CHARGE || amount > MAX_CHARGE) {
    throw new AppError('AMOUNT_OUT_OF_RANGE', `amount must be between ${MIN_CHARGE} and ${MAX_CHARGE} won`)
  }
  const key = idempotencyKey ?? null
  const earlier = await replayByIdempotencyKey(db, accountId, key, earlierCharge(amount))
  if (earlier) return { ...earlier, replayed: true }
  try {
    const result = await retryOnDeadlock(() =>
      db.transaction().execute(async (trx) => {
        if (!(await addToBalance(trx, accountId, amount))) {
          const account = await findAccount(trx, accountId)
          if (!account) throw new AppError('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`)
          throw new AppError(
            'AMOUNT_OUT_OF_RANGE',
            `the balance would pass ${MAX_BALANCE} won (now ${account.amount})`,
          )
        }
        const balance = (await balanceOf(trx, accountId)) ?? 0
        await insertHistory(trx, {
          accountId,
          amount,
          type: 'CHARGE',
          reservationId: null,
          idempotencyKey: key,
          balanceAfter: balance,
        })
        return { accountId, balance, charged: amount }
      }),
    )
    return { ...result, replayed: false }
  } catch (error) {
    // A parallel request with the same key committed first: its answer is ours.
    if (key && isDuplicateKey(error)) {
      const first = await replayByIdempotencyKey(db, accountId, key, earlierCharge(amount))
      if (first) return { ...first, replayed: true }
    }
    throw error
  }
}
