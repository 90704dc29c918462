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

/** Connection-level failures: the database is down or unreachable, not a bad request. */
export function isConnectionError(error: unknown): boolean {
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
