import { type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { addToBalance, balanceOf, findAccount, MAX_BALANCE } from '../repositories/accounts.repository.js'
import { findByIdempotencyKey, insertHistory } from '../repositories/balance-history.repository.js'

export const MIN_CHARGE = 1
export const MAX_CHARGE = 10_000_000

export interface ChargeResult {
  accountId: string
  balance: number
  charged: number
}

type HistoryRow = NonNullable<Awaited<ReturnType<typeof findByIdempotencyKey>>>

function replayCharge(row: HistoryRow, amount: number): ChargeResult {
  if (row.type !== 'CHARGE' || row.amount !== amount) {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'this Idempotency-Key was used for a different request')
  }
  return { accountId: row.account_id, balance: row.balance_after, charged: row.amount }
}

/**
 * Adds money: the increment (guarded against the INT limit) and its CHARGE
 * ledger row commit together. With an Idempotency-Key the ledger row's unique
 * (account, key) makes parallel retries wait for the first; they then replay
 * its answer, and the money moves once.
 */
export async function chargeBalance(
  db: Kysely<Database>,
  request: { accountId: string; amount: number; idempotencyKey?: string | undefined },
): Promise<ChargeResult & { replayed: boolean }> {
  const { accountId, amount, idempotencyKey } = request
  if (!Number.isInteger(amount) || amount < MIN_CHARGE || amount > MAX_CHARGE) {
    throw new AppError('AMOUNT_OUT_OF_RANGE', `amount must be between ${MIN_CHARGE} and ${MAX_CHARGE} won`)
  }
  const key = idempotencyKey ?? null
  if (key) {
    const earlier = await findByIdempotencyKey(db, accountId, key)
    if (earlier) return { ...replayCharge(earlier, amount), replayed: true }
  }
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
    if (key && isDuplicateKey(error)) {
      const earlier = await findByIdempotencyKey(db, accountId, key)
      if (earlier) return { ...replayCharge(earlier, amount), replayed: true }
    }
    throw error
  }
}
