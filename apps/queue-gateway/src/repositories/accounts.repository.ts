import type { DbExecutor } from '@concert/db'

/** Which of `ids` are accounts (one IN query). */
export async function existingAccountIds(db: DbExecutor, ids: string[]): Promise<string[]> {
  return (await db.selectFrom('ACCOUNT').select('id').where('id', 'in', ids).execute()).map((row) => row.id)
}
