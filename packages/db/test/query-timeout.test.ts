// By path, not by package name: @concert/testing depends on this package.

import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTestEnv, within } from '../../testing/src/index.js'
import { createDbWithPool, isConnectionError } from '../src/index.js'

/*
 * timeStatements against a live server: a statement past DB_QUERY_TIMEOUT_MS fails as a
 * lost connection (503 for its request), and the session it leaves behind on the server
 * is ended, so its transaction's row locks do not outlive the client's interest in them.
 * (A silent server, where the statement never arrives: the apps' mysql-faults and
 * lost-commit tests.)
 */

const env = useTestEnv({ migrate: false })
/** The apps' kind of pool: every statement timed, here at 1 s. */
let timed: ReturnType<typeof createDbWithPool>

beforeAll(async () => {
  await sql`CREATE TABLE probe (id INT PRIMARY KEY, n INT NOT NULL)`.execute(env.db)
  await sql`INSERT INTO probe VALUES (1, 0), (2, 0)`.execute(env.db)
  timed = createDbWithPool({ url: env.mysqlUrl, poolSize: 2, queryTimeoutMs: 1_000 })
})
afterAll(async () => {
  await timed?.db.destroy()
})

describe('a statement past the timeout', () => {
  it('fails as a lost connection, and the pool carries on with a fresh one', async () => {
    const error = await within(
      10_000,
      sql`SELECT SLEEP(30)`.execute(timed.db).then(
        () => undefined,
        (failure: unknown) => failure,
      ),
    )
    expect(error).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true })
    expect(isConnectionError(error)).toBe(true)
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(timed.db)
    expect(rows).toEqual([{ one: 1 }])
  })

  it('inside a transaction waiting for a lock: the server ends that session, so the rows it locked are free at once', async () => {
    // Another session holds row 1 for the whole test.
    await env.db.connection().execute(async (holder) => {
      await sql`BEGIN`.execute(holder)
      await sql`SELECT n FROM probe WHERE id = 1 FOR UPDATE`.execute(holder)
      try {
        // The timed transaction takes row 2, then waits for row 1 past its 1 s.
        const failed = await within(
          10_000,
          timed.db
            .transaction()
            .execute(async (trx) => {
              await sql`UPDATE probe SET n = n + 1 WHERE id = 2`.execute(trx)
              await sql`UPDATE probe SET n = n + 1 WHERE id = 1`.execute(trx)
            })
            .then(
              () => undefined,
              (failure: unknown) => failure,
            ),
        )
        expect(isConnectionError(failed)).toBe(true)
        // A lock wait does not notice its client is gone: without the KILL that session
        // would wait on (innodb_lock_wait_timeout, 50 s) holding row 2, and this writer
        // would give up after its 3 s.
        await env.db.connection().execute(async (writer) => {
          await sql`SET SESSION innodb_lock_wait_timeout = 3`.execute(writer)
          try {
            await sql`UPDATE probe SET n = n + 10 WHERE id = 2`.execute(writer)
          } finally {
            await sql`SET SESSION innodb_lock_wait_timeout = DEFAULT`.execute(writer)
          }
        })
      } finally {
        await sql`ROLLBACK`.execute(holder)
      }
    })
    // The abandoned transaction was rolled back: only the second writer's change stands.
    const { rows } = await sql<{ n: number }>`SELECT n FROM probe WHERE id = 2`.execute(env.db)
    expect(rows).toEqual([{ n: 10 }])
  })
})
