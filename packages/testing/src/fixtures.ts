import { type Database, openAccounts, seedDemoData } from '@concert/db'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'

/*
 * Data helpers with no tie to the Vitest runner, so scripts (the benchmark) use them too:
 * import them from '@concert/testing/fixtures'.
 */

/** Seeds the demo catalogue and returns the ids tests need. */
export async function seedCatalog(db: Kysely<Database>) {
  await seedDemoData(db)
  const events = await db.selectFrom('EVENT').select(['id', 'title']).orderBy('id').execute()
  const schedules = await db.selectFrom('EVENT_SCHEDULE').selectAll().orderBy('id').execute()
  const seats = await db.selectFrom('VENUE_SEAT').selectAll().orderBy('id').execute()
  const [first, second] = events
  if (!first || !second) throw new Error('demo seed wrote no events')
  return { eventId: first.id, otherEventId: second.id, events, schedules, seats }
}

/**
 * Inserts `count` accounts named `<prefix>-<n>`, each with an opening CHARGE of
 * `balance` so that balance = sum(history) holds from the start.
 */
export async function insertAccounts(
  db: Kysely<Database>,
  count: number,
  options: { prefix?: string; balance?: number } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? 'acct'
  const balance = options.balance ?? 0
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`)
  await openAccounts(
    db,
    ids.map((id) => ({ id, email: `${id}@example.test`, name: id, balance })),
  )
  return ids
}

/** A fresh event (at the demo venue) so a test has a queue nobody else touches. */
export async function createEvent(db: Kysely<Database>, title: string): Promise<number> {
  const venue = await db.selectFrom('VENUE').select('id').orderBy('id').executeTakeFirstOrThrow()
  const result = await db
    .insertInto('EVENT')
    .values({
      title,
      description: null,
      venue_id: venue.id,
      start_date: '2030-01-01',
      end_date: '2030-01-02',
    })
    .executeTakeFirstOrThrow()
  return Number(result.insertId)
}

/** Deletes every key matching `pattern` (SCAN, not KEYS, so a big Redis is not blocked). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length) await redis.unlink(...keys)
  } while (cursor !== '0')
}

/** An account's balance, read straight from ACCOUNT (throws for an unknown account). */
export async function accountBalance(db: Kysely<Database>, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('ACCOUNT')
    .select('amount')
    .where('id', '=', accountId)
    .executeTakeFirstOrThrow()
  return row.amount
}
