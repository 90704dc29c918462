import type { Database } from '@concert/db'
import { sql, type Transaction } from 'kysely'
import type { TestEnv } from './test-env.js'

export interface HeldRow {
  /** Lets the row go (ends the holding transaction). */
  release: () => Promise<void>
}

/**
 * Holds a row lock in a transaction of its own, taken by `lock`, until `release()`;
 * resolves once the lock is held. What a long writer does to the others (a payment in
 * progress, a rebuild, a draw), made to last for as long as a test needs.
 */
export async function holdRow(
  env: TestEnv,
  lock: (trx: Transaction<Database>) => Promise<unknown>,
): Promise<HeldRow> {
  let letGo: () => void = () => undefined
  const released = new Promise<void>((resolve) => {
    letGo = resolve
  })
  let locked: () => void = () => undefined
  const lockTaken = new Promise<void>((resolve) => {
    locked = resolve
  })
  const holder = env.db.transaction().execute(async (trx) => {
    await lock(trx)
    locked()
    await released
  })
  await Promise.race([lockTaken, holder])
  return {
    release: async () => {
      letGo()
      await holder
    },
  }
}

/**
 * Holds the event's QUEUE_EPOCH row for update, as a rebuild holds it: every writer of the
 * event's Redis-read state (the joins' group commit, the mirror, the pre-queue draw) waits.
 */
export function holdEpochRow(env: TestEnv, eventId: number): Promise<HeldRow> {
  return holdRow(env, (trx) =>
    sql`SELECT epoch FROM QUEUE_EPOCH WHERE event_id = ${eventId} FOR UPDATE`.execute(trx),
  )
}

/** Transactions of this file's database waiting for a row lock right now. */
export async function lockWaiters(env: TestEnv): Promise<number> {
  const result = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
    JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
    WHERE p.DB = ${env.databaseName} AND t.trx_state = 'LOCK WAIT'`.execute(env.db)
  return Number(result.rows[0]?.n)
}
