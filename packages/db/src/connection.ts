import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlDialect,
  MysqlIntrospector,
  MysqlQueryCompiler,
  sql,
  type Transaction,
} from 'kysely'
import { type ConnectionOptions, createConnection, createPool, type Pool, type PoolOptions } from 'mysql2'
import type { Database } from './database.js'
import { dropConnection, isStatementTimeout, timeStatements } from './query-timeout.js'

export interface DbOptions {
  url: string
  poolSize?: number
  /**
   * A statement not answered within this long fails and its connection is dropped
   * (timeStatements); none by default (scripts, migrations, tests' own pools).
   */
  queryTimeoutMs?: number
}

/**
 * mysql2 pool settings shared by the apps, the scripts and the tests:
 * every session runs in UTC, DATE columns come back as 'YYYY-MM-DD' strings
 * (a calendar date has no time zone), and BIGINT ids as plain numbers.
 */
export function poolOptions({ url, poolSize = 10 }: DbOptions): PoolOptions {
  return {
    ...connectionOptions(url),
    connectionLimit: poolSize,
    waitForConnections: true,
    queueLimit: 0,
  }
}

/** One connection's settings (poolOptions without the pool's). */
function connectionOptions(url: string): ConnectionOptions {
  return {
    uri: url,
    timezone: 'Z',
    dateStrings: ['DATE'],
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    connectTimeout: 5_000,
    // Affected-row counts must mean "changed", not "matched": seeding and guarded updates rely on it.
    flags: ['-FOUND_ROWS'],
  }
}

function createUtcPool(options: DbOptions): Pool {
  const pool = createPool(poolOptions(options))
  const timeout = options.queryTimeoutMs
  pool.on('connection', (connection) => {
    // Timed too (timeStatements): it runs before the first statement Kysely sends, which
    // would otherwise wait behind it untimed.
    connection.query({ sql: "SET time_zone = '+00:00'", ...(timeout ? { timeout } : {}) }, (error) => {
      if (isStatementTimeout(error)) dropConnection(connection)
    })
  })
  return pool
}

export function createDb(options: DbOptions): Kysely<Database> {
  return createDbWithPool(options).db
}

/** How busy a pool is right now, for the operator's metrics. */
export interface PoolUsage {
  /** Connections open (busy or idle). */
  open: number
  /** Open connections waiting for work. */
  idle: number
  /** Queries waiting for a connection because every one is busy. */
  waiting: number
}

/**
 * The Kysely instance and a view of its pool's usage. mysql2 keeps these counts in
 * fields it does not document (`_allConnections`, `_freeConnections`, `_connectionQueue`),
 * stable since mysql2 1.x; a missing field reads as 0 rather than breaking a scrape.
 */
export function createDbWithPool(options: DbOptions): { db: Kysely<Database>; usage: () => PoolUsage } {
  const pool = createUtcPool(options)
  const internals = pool as unknown as Record<string, { length?: number } | undefined>
  const count = (field: string) => internals[field]?.length ?? 0
  return {
    db: new Kysely<Database>({
      dialect: new MysqlDialect({
        pool: options.queryTimeoutMs
          ? timeStatements(pool, options.queryTimeoutMs, () =>
              createConnection(connectionOptions(options.url)),
            )
          : pool,
      }),
    }),
    usage: () => ({
      open: count('_allConnections'),
      idle: count('_freeConnections'),
      waiting: count('_connectionQueue'),
    }),
  }
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''))
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) {
    throw new Error(`MYSQL_URL must name a database of letters, digits and underscores, got "${name}"`)
  }
  return name
}

/** The same server without a default database, for CREATE/DROP DATABASE. */
export function serverUrl(url: string): string {
  const parsed = new URL(url)
  parsed.pathname = '/'
  return parsed.toString()
}

/** Opens one short-lived connection to the server (no database selected) and runs `work`. */
export async function withServerDb<T>(url: string, work: (db: Kysely<any>) => Promise<T>): Promise<T> {
  const db = new Kysely<any>({
    dialect: new MysqlDialect({ pool: createPool({ ...poolOptions({ url: serverUrl(url), poolSize: 1 }) }) }),
  })
  try {
    return await work(db)
  } finally {
    await db.destroy()
  }
}

export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url)
  await withServerDb(url, async (db) => {
    await sql`CREATE DATABASE IF NOT EXISTS ${sql.id(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`.execute(
      db,
    )
  })
}

export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url)
  await withServerDb(url, async (db) => {
    await sql`DROP DATABASE IF EXISTS ${sql.id(name)}`.execute(db)
  })
}

/** What repository functions take: the pool, or the transaction they must run inside. */
export type DbExecutor = Kysely<Database> | Transaction<Database>

/**
 * A Kysely that compiles MySQL statements and runs none (no pool, no connection): for
 * code that executes a repository's own statement bare (`.compile()` → sql and
 * parameters to mysql2), such as the bench's purchase floor.
 */
export function createQueryCompiler(): Kysely<Database> {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new MysqlIntrospector(db),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
  })
}
