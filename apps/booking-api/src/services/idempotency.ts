import type { BalanceHistory, DbExecutor } from '@concert/db'
import { AppError } from '@concert/shared'
import { findByIdempotencyKey } from '../repositories/balance-history.repository.js'

/** 409 IDEMPOTENCY_KEY_IN_USE: the key was sent before with a different request. */
export const idempotencyKeyInUse = (detail = 'this Idempotency-Key was used for a different request') =>
  new AppError('IDEMPOTENCY_KEY_IN_USE', detail)

/**
 * The Idempotency-Key replay check every request that moves money shares.
 * `findEarlier` reads what an earlier request with this key left (a ledger row,
 * a refunded reservation); `answerOf` rebuilds that request's answer from it, or
 * returns undefined when it was a different request (another kind, amount, seat
 * or reservation), which makes the key IDEMPOTENCY_KEY_IN_USE (`inUseDetail`).
 * Undefined when there is no key or no earlier request.
 */
export async function replayByKey<R, T>(
  key: string | null | undefined,
  findEarlier: (key: string) => Promise<R | undefined>,
  answerOf: (earlier: R) => T | undefined | Promise<T | undefined>,
  inUseDetail?: string,
): Promise<T | undefined> {
  if (!key) return undefined
  const earlier = await findEarlier(key)
  if (!earlier) return undefined
  const answer = await answerOf(earlier)
  if (answer === undefined) throw idempotencyKeyInUse(inUseDetail)
  return answer
}

/** replayByKey for the requests whose key is kept on the account's ledger row (charges, payments). */
export function replayByIdempotencyKey<T>(
  db: DbExecutor,
  accountId: string,
  key: string | null | undefined,
  answerOf: (row: BalanceHistory) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  return replayByKey(key, (k) => findByIdempotencyKey(db, accountId, k), answerOf)
}
