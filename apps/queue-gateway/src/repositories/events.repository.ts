import type { DbExecutor } from '@concert/db'

/** Which of `ids` are events (one IN query). */
export async function existingEventIds(db: DbExecutor, ids: number[]): Promise<number[]> {
  return (await db.selectFrom('EVENT').select('id').where('id', 'in', ids).execute()).map((row) => row.id)
}
