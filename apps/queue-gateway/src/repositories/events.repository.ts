import type { DbExecutor } from '@concert/db'

/** Ids of every event, ascending: the events whose queues this gateway runs. */
export async function allEventIds(db: DbExecutor): Promise<number[]> {
  return (await db.selectFrom('EVENT').select('id').orderBy('id').execute()).map((row) => row.id)
}

/** Which of `ids` are events (one IN query). */
export async function existingEventIds(db: DbExecutor, ids: number[]): Promise<number[]> {
  return (await db.selectFrom('EVENT').select('id').where('id', 'in', ids).execute()).map((row) => row.id)
}
