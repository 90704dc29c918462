import type { App } from '@concert/http'
import { instantAdmission, makeQueue, readyTokens as readyTokensOf } from '@concert/queue/testing'
import { appEnv, type TestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { expect } from 'vitest'
import { buildBookingApp } from '../src/app.js'
import { loadBookingConfig } from '../src/config.js'

/** A booking API on this file's database and Redis key space; the pool is deliberately small. */
export async function buildBooking(
  env: TestEnv,
  overrides: Record<string, string> = {},
  options: { poolSize?: number } = {},
): Promise<App> {
  const config = loadBookingConfig(appEnv(env, { DB_POOL_SIZE: String(options.poolSize ?? 5), ...overrides }))
  const app = await buildBookingApp({ config, logger: false })
  await app.ready()
  return app
}

/** A queue with an admission fast enough to make test tokens READY at once. */
export function fastQueue(env: TestEnv, settings: { activeTtlSeconds?: number } = {}) {
  return makeQueue(env, { ...instantAdmission, ...settings }).queue
}

/** Joins every account to the event's queue and admits them; returns accountId → READY token. */
export function readyTokens(
  env: TestEnv,
  eventId: number,
  accountIds: string[],
): Promise<Map<string, string>> {
  return readyTokensOf(fastQueue(env), eventId, accountIds)
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/**
 * SPEC §4 money and seat invariants over the whole database: no negative
 * balance, every balance equals the sum of its ledger, no seat sold twice,
 * and every payment row matches its reservation's price.
 */
export async function expectInvariants(env: TestEnv): Promise<void> {
  const ledger = await sql<{ id: string; amount: number; ledger: number | string | null }>`
    SELECT a.id, a.amount, (SELECT SUM(h.amount) FROM BALANCE_HISTORY h WHERE h.account_id = a.id) AS ledger
    FROM ACCOUNT a`.execute(env.db)
  for (const row of ledger.rows) {
    expect(row.amount, `balance of ${row.id}`).toBeGreaterThanOrEqual(0)
    expect(Number(row.ledger ?? 0), `ledger of ${row.id}`).toBe(row.amount)
  }
  const doubles = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM (
      SELECT schedule_id, seat_id FROM RESERVATION GROUP BY schedule_id, seat_id HAVING COUNT(*) > 1
    ) d`.execute(env.db)
  expect(Number(doubles.rows[0]?.n)).toBe(0)
  const payments = await sql<{ n: number }>`
    SELECT COUNT(*) AS n FROM RESERVATION r
    LEFT JOIN BALANCE_HISTORY h ON h.reservation_id = r.id AND h.type = 'PAYMENT'
    WHERE h.id IS NULL OR h.amount <> -r.price OR h.account_id <> r.account_id`.execute(env.db)
  expect(Number(payments.rows[0]?.n)).toBe(0)
}
