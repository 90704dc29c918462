import type { BalanceHistory, DbExecutor } from '@concert/db'
import { AppError } from '@concert/shared'
import { findByIdempotencyKey } from '../repositories/balance-history.repository.js'

/**
 * The Idempotency-Key replay check every money-moving request shares. An
 * earlier request with this key left its ledger row; `answerOf` rebuilds that
 * request's answer from the row, or returns undefined when the row belongs to
 * a different request (another kind, amount or seat), which makes the key
 * IDEMPOTENCY_KEY_IN_USE. Undefined when there is no key or no earlier request.
 */
export async function replayByIdempotencyKey<T>(
  db: DbExecutor,
  accountId: string,
  key: string | null | undefined,
  answerOf: (row: BalanceHistory) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  if (!key) return undefined
  const row = await findByIdempotencyKey(db, accountId, key)
  if (!row) return undefined
  const answer = await answerOf(row)
  if (answer === undefined) {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'this Idempotency-Key was used for a different request')
  }
  return answer
}
