import type { Database } from '@concert/db'
import { type Kysely, sql } from 'kysely'

/** Which QUEUE_TOKEN rows MySQL refuses: every field given must match. */
export interface RefusedTokenRows {
  token?: string
  accountId?: string
  status?: string
}

/**
 * Runs `work` while MySQL refuses to write the QUEUE_TOKEN rows `which` names, as a row
 * refused for good (a trigger's SIGNAL, SQLSTATE 45000; it fires for upserts too), and
 * takes the refusal away after, whatever `work` did. The test's own database only.
 */
export async function whileTokenRowsRefused<T>(
  db: Kysely<Database>,
  which: RefusedTokenRows,
  work: () => Promise<T>,
): Promise<T> {
  const matches = [
    ...(which.token === undefined ? [] : [sql`NEW.token = ${sql.lit(which.token)}`]),
    ...(which.accountId === undefined ? [] : [sql`NEW.account_id = ${sql.lit(which.accountId)}`]),
    ...(which.status === undefined ? [] : [sql`NEW.status = ${sql.lit(which.status)}`]),
  ]
  if (matches.length === 0) throw new Error('whileTokenRowsRefused: name the rows to refuse')
  await sql`
    CREATE TRIGGER refuse_token_rows BEFORE INSERT ON QUEUE_TOKEN FOR EACH ROW
    BEGIN
      IF ${sql.join(matches, sql` AND `)} THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test';
      END IF;
    END`.execute(db)
  try {
    return await work()
  } finally {
    await sql`DROP TRIGGER refuse_token_rows`.execute(db)
  }
}

/** Each token's QUEUE_TOKEN status, in the order given (undefined: no row). */
export async function tokenRowStatuses(
  db: Kysely<Database>,
  tokens: readonly string[],
): Promise<Array<string | undefined>> {
  if (tokens.length === 0) return []
  const rows = await db
    .selectFrom('QUEUE_TOKEN')
    .select(['token', 'status'])
    .where('token', 'in', [...tokens])
    .execute()
  const statusOf = new Map(rows.map((row) => [row.token, row.status as string]))
  return tokens.map((token) => statusOf.get(token))
}
