import { isRowRefusal } from '@concert/db'

/** A row MySQL refused on its own, and why. */
export interface RefusedRow<T> {
  item: T
  error: unknown
}

/**
 * The promise "a row MySQL refuses holds back no other row of its batch". Group commits
 * (DurableTickets) and the mirror write many tickets in one transaction, so one row
 * refused for good (isRowRefusal: a bad value, a broken constraint, a trigger's SIGNAL)
 * would fail every join of its transaction, and the mirror would retry its batch forever
 * while the event's backlog grew. `write` commits `items` in one transaction; when MySQL
 * refuses rows, each half is written apart, down to the rows refused alone: one bad row
 * among n costs about 2·log2(n) more transactions, and every other row commits.
 * `onCommitted` is called for each part as it commits; the rows refused alone are
 * returned. Any other error (MySQL down, a lock) is thrown at once: splitting would only
 * multiply the attempts, and what committed before it was already reported.
 */
export async function writeApart<T, R>(
  items: readonly T[],
  write: (part: readonly T[]) => Promise<R>,
  onCommitted: (part: readonly T[], result: R) => void,
): Promise<Array<RefusedRow<T>>> {
  const refused: Array<RefusedRow<T>> = []
  const attempt = async (part: readonly T[]): Promise<void> => {
    let result: R
    try {
      result = await write(part)
    } catch (error) {
      if (!isRowRefusal(error)) throw error
      if (part.length === 1) {
        refused.push({ item: part[0] as T, error })
        return
      }
      const half = Math.ceil(part.length / 2)
      await attempt(part.slice(0, half))
      await attempt(part.slice(half))
      return
    }
    onCommitted(part, result)
  }
  if (items.length > 0) await attempt(items)
  return refused
}
