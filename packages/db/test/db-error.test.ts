// By path, not by package name: @concert/testing depends on this package.

import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { useTestEnv } from '../../testing/src/index.js'
import {
  createDb,
  isConnectionError,
  isDuplicateKey,
  isRetryableLockError,
  isRowRefusal,
} from '../src/index.js'

/*
 * How the errors MySQL really sends are told apart: writeApart (the group commit, the
 * mirror) splits a batch only for rows refused for good, never for a race to run again
 * or a MySQL that is down.
 */

const env = useTestEnv({ migrate: false })

beforeAll(async () => {
  await sql`CREATE TABLE probe (id INT PRIMARY KEY, n INT NOT NULL, label VARCHAR(4) NOT NULL)`.execute(
    env.db,
  )
  await sql`INSERT INTO probe VALUES (1, 1, 'one')`.execute(env.db)
  await sql`
    CREATE TRIGGER refuse_thirteen BEFORE INSERT ON probe FOR EACH ROW
    BEGIN
      IF NEW.id = 13 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF;
    END`.execute(env.db)
})

/** The error `run` fails with. */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('the statement succeeded')
}

describe('isRowRefusal', () => {
  it.each([
    ['a trigger’s SIGNAL', sql`INSERT INTO probe VALUES (13, 1, 'x')`],
    ['a value too long (22001)', sql`INSERT INTO probe VALUES (2, 1, 'too long')`],
    ['a value out of range (22003)', sql`INSERT INTO probe VALUES (3, 99999999999, 'x')`],
    ['a NULL where none may be (23000)', sql`INSERT INTO probe VALUES (4, NULL, 'x')`],
    ['a string for a number, strict mode (1366, HY000)', sql`INSERT INTO probe VALUES (5, 'abc', 'x')`],
    ['a missing value without default (1364, HY000)', sql`INSERT INTO probe (id, n) VALUES (6, 1)`],
  ])('%s: a row refused for good', async (_name, statement) => {
    const error = await errorOf(() => statement.execute(env.db))
    expect(isRowRefusal(error)).toBe(true)
    expect(isConnectionError(error)).toBe(false)
  })

  it('a duplicate key is a race to run again, not a bad row', async () => {
    const error = await errorOf(() => sql`INSERT INTO probe VALUES (1, 2, 'dup')`.execute(env.db))
    expect(isDuplicateKey(error)).toBe(true)
    expect(isRowRefusal(error)).toBe(false)
  })

  it('a lock wait that timed out is not a bad row', async () => {
    const holder = await env.db.connection().execute(async (connection) => {
      await sql`BEGIN`.execute(connection)
      await sql`SELECT * FROM probe WHERE id = 1 FOR UPDATE`.execute(connection)
      try {
        return await env.db.connection().execute(async (waiter) => {
          await sql`SET SESSION innodb_lock_wait_timeout = 1`.execute(waiter)
          try {
            return await errorOf(() => sql`UPDATE probe SET n = 3 WHERE id = 1`.execute(waiter))
          } finally {
            await sql`SET SESSION innodb_lock_wait_timeout = DEFAULT`.execute(waiter)
          }
        })
      } finally {
        await sql`ROLLBACK`.execute(connection)
      }
    })
    expect(isRetryableLockError(holder)).toBe(true)
    expect(isRowRefusal(holder)).toBe(false)
  })

  it('a database that cannot be reached is not a bad row', async () => {
    const dead = createDb({ url: 'mysql://root@127.0.0.1:9/none', poolSize: 1 })
    try {
      const error = await errorOf(() => sql`SELECT 1`.execute(dead))
      expect(isConnectionError(error)).toBe(true)
      expect(isRowRefusal(error)).toBe(false)
    } finally {
      await dead.destroy()
    }
  })
})
