import { randomBytes } from 'node:crypto'
import { createDb, type Database, dropDatabase, ensureDatabase, migrateToLatest } from '@concert/db'
import { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, inject } from 'vitest'
import { deleteKeys } from './fixtures.js'
import { type LocalRedis, startLocalRedis } from './redis-server.js'

/**
 * What one test file gets to itself: a freshly migrated MySQL database and a
 * Redis key prefix nobody else uses, so files run in parallel without seeing
 * each other's rows or keys.
 */
export interface TestEnv {
  /** The file's private redis-server (FLUSHALL, restart), when asked for with `privateRedis`. */
  localRedis: LocalRedis | undefined
  /** URL of this file's own database. */
  mysqlUrl: string
  databaseName: string
  redisUrl: string
  /** Every Redis key this file's code writes starts with it. */
  keyPrefix: string
  db: Kysely<Database>
  redis: Redis
}

export interface TestEnvOptions {
  /** Pool size of `db`; concurrency tests use one smaller than their request count. */
  poolSize?: number
  /** Apply migrations (default true). */
  migrate?: boolean
  /**
   * A private redis-server of its own (started for this file, stopped after it)
   * instead of a key prefix on the shared one, for tests that FLUSHALL, restart
   * or MONITOR Redis and so must not touch anybody else's data.
   */
  privateRedis?: boolean
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export async function createTestEnv(
  options: TestEnvOptions = {},
): Promise<TestEnv & { close(): Promise<void> }> {
  const suffix = randomBytes(5).toString('hex')
  const databaseName = `cttest_${process.pid}_${suffix}`
  const mysqlUrl = withDatabase(inject('mysqlUrl'), databaseName)
  const localRedis = options.privateRedis ? await startLocalRedis() : undefined
  const redisUrl = localRedis?.url ?? inject('redisUrl')
  const keyPrefix = `cttest:${suffix}:`

  await ensureDatabase(mysqlUrl)
  const db = createDb({ url: mysqlUrl, poolSize: options.poolSize ?? 5 })
  if (options.migrate !== false) await migrateToLatest(db)
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 })

  async function close(): Promise<void> {
    await db.destroy()
    await deleteKeys(redis, `${keyPrefix}*`)
    redis.disconnect()
    await localRedis?.stop()
    await dropDatabase(mysqlUrl)
  }
  return { mysqlUrl, databaseName, redisUrl, keyPrefix, localRedis, db, redis, close }
}

/**
 * Registers beforeAll/afterAll for the calling file and returns the env; its
 * fields are usable inside tests and hooks (not at module top level).
 */
export function useTestEnv(options: TestEnvOptions = {}): TestEnv {
  let env: (TestEnv & { close(): Promise<void> }) | undefined
  beforeAll(async () => {
    env = await createTestEnv(options)
  }, 60_000)
  afterAll(async () => {
    await env?.close()
  })
  return new Proxy({} as TestEnv, {
    get(_target, property: keyof TestEnv) {
      if (!env) throw new Error('useTestEnv(): the env exists only inside tests and hooks')
      return env[property]
    },
  })
}

/** The environment variables that point an app at this file's database and Redis key space. */
export function appEnv(env: TestEnv, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MYSQL_URL: env.mysqlUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.keyPrefix,
    // No load shedding: tests assert exact outcomes of bursts that several test files run
    // at once on a small machine; shedding has a test of its own (under-pressure.test.ts).
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...overrides,
  }
}
