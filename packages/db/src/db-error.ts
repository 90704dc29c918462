/** mysql2 errors carry the server's symbolic code; these are the ones the domain reacts to. */
export function mysqlErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code
  }
  return undefined
}

export function isDuplicateKey(error: unknown): boolean {
  return mysqlErrorCode(error) === 'ER_DUP_ENTRY'
}

/** A DELETE refused because rows of another table still point at the row (a foreign key). */
export function isRowStillReferenced(error: unknown): boolean {
  const code = mysqlErrorCode(error)
  return code === 'ER_ROW_IS_REFERENCED_2' || code === 'ER_ROW_IS_REFERENCED'
}

/**
 * An INSERT or UPDATE refused because the row it points at does not exist (any more):
 * the referenced table's name, read from the server's message.
 */
export function missingParentTable(error: unknown): string | undefined {
  const code = mysqlErrorCode(error)
  if (code !== 'ER_NO_REFERENCED_ROW_2' && code !== 'ER_NO_REFERENCED_ROW') return undefined
  return /REFERENCES `([^`]+)`/.exec((error as Error).message ?? '')?.[1] ?? ''
}

/** Connection-level failures: the database is down or unreachable, not a bad request. */
export function isConnectionError(error: unknown): boolean {
  // mysql2 marks every error that ended the connection `fatal`; some have no code, such as the
  // "connection is in closed state" a ROLLBACK gets after MySQL went away mid-transaction.
  if (typeof error === 'object' && error !== null && 'fatal' in error && error.fatal === true) return true
  const code = mysqlErrorCode(error)
  return (
    code !== undefined &&
    [
      'ECONNREFUSED',
      'ENOTFOUND',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ECONNRESET',
      'PROTOCOL_CONNECTION_LOST',
      'ER_ACCESS_DENIED_ERROR',
      'ER_CON_COUNT_ERROR',
    ].includes(code)
  )
}

/** InnoDB chose this transaction as a deadlock victim, or gave up waiting for a lock: safe to run again. */
export function isRetryableLockError(error: unknown): boolean {
  const code = mysqlErrorCode(error)
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT'
}

/**
 * Runs a whole transaction again when InnoDB rolled it back as a deadlock
 * victim (it undid every write, so a rerun is safe), with a short growing pause.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= attempts || !isRetryableLockError(error)) throw error
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10))
    }
  }
}

/**
 * MySQL refused the rows themselves, not the request's circumstances: a value out of
 * range or too long (SQLSTATE class 22), a broken constraint (23), a trigger's SIGNAL
 * (45), or a strict-mode refusal of a value. Sent again, the same rows are refused again;
 * other rows of the same write would not be. Lock, connection and server errors are of
 * other classes, and a duplicate key is a race to run again.
 */
export function isRowRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('sqlState' in error)) return false
  if ('fatal' in error && error.fatal === true) return false
  const code = mysqlErrorCode(error)
  // A duplicate key is a race between two writers (retryTokenWrite), not a bad row.
  if (code === 'ER_DUP_ENTRY') return false
  // Strict mode's refusals of a value that MySQL files under the general state HY000.
  if (code === 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD' || code === 'ER_NO_DEFAULT_FOR_FIELD') return true
  const state = error.sqlState
  return typeof state === 'string' && ['22', '23', '45'].includes(state.slice(0, 2))
}
