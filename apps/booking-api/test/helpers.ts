import type { App } from '@concert/http'
import { instantAdmission, makeQueue, readyTokens as readyTokensOf } from '@concert/queue/testing'
import { appEnv, type HeldRow, holdRow, type TestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { expect } from 'vitest'
import { buildBookingApp } from '../src/app.js'
import { loadBookingConfig } from '../src/config.js'
import { reservedSeatIds } from '../src/repositories/catalog.repository.js'

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
 * SPEC §4 and §9 money and seat invariants over the whole database: no negative
 * balance; every balance equals the sum of its ledger (charges, payments and
 * refunds); no live seat sold twice; every reservation paid by exactly one
 * PAYMENT row of its price from its buyer; every REFUNDED one given back by
 * exactly one REFUND row of its price, and a SOLD one by none; a refunded seat
 * not sold again is AVAILABLE (not in the schedule's sold set).
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
      SELECT schedule_id, seat_id FROM RESERVATION WHERE status = 'SOLD'
      GROUP BY schedule_id, seat_id HAVING COUNT(*) > 1
    ) d`.execute(env.db)
  expect(Number(doubles.rows[0]?.n), 'live seats sold twice').toBe(0)
  const payments = await sql<{ id: number }>`
    SELECT r.id FROM RESERVATION r
    WHERE (SELECT COUNT(*) FROM BALANCE_HISTORY h
           WHERE h.reservation_id = r.id AND h.type = 'PAYMENT'
             AND h.amount = -r.price AND h.account_id = r.account_id) <> 1
       OR (SELECT COUNT(*) FROM BALANCE_HISTORY h WHERE h.reservation_id = r.id AND h.type = 'PAYMENT') <> 1`.execute(
    env.db,
  )
  expect(payments.rows, 'reservations without exactly one matching PAYMENT row').toEqual([])
  const refunds = await sql<{ id: number }>`
    SELECT r.id FROM RESERVATION r
    WHERE (SELECT COUNT(*) FROM BALANCE_HISTORY h WHERE h.reservation_id = r.id AND h.type = 'REFUND')
          <> IF(r.status = 'REFUNDED', 1, 0)
       OR EXISTS (SELECT 1 FROM BALANCE_HISTORY h
                  WHERE h.reservation_id = r.id AND h.type = 'REFUND'
                    AND (h.amount <> r.price OR h.account_id <> r.account_id))`.execute(env.db)
  expect(refunds.rows, 'refunds without exactly one matching REFUND row').toEqual([])

  // A refunded seat nobody bought again is free in MySQL. (Seat maps are cached in each app's
  // process, no longer in Redis: catalog-cache.test.ts checks every copy shows a refund at once.)
  const freed = await sql<{ schedule_id: number; seat_id: number }>`
    SELECT DISTINCT r.schedule_id, r.seat_id FROM RESERVATION r
    WHERE r.status = 'REFUNDED' AND NOT EXISTS (
      SELECT 1 FROM RESERVATION l
      WHERE l.schedule_id = r.schedule_id AND l.seat_id = r.seat_id AND l.status = 'SOLD')`.execute(env.db)
  for (const { schedule_id: scheduleId, seat_id: seatId } of freed.rows) {
    expect(await reservedSeatIds(env.db, scheduleId), `refunded seat ${seatId}`).not.toContain(seatId)
  }
}

/**
 * Holds the account's row lock (SELECT … FOR UPDATE in a transaction of its own), as a
 * payment in progress would, until `release()`; resolves once the lock is held. Every
 * money-moving transaction takes that row first, so they queue behind it.
 */
export function holdAccountRow(env: TestEnv, accountId: string): Promise<HeldRow> {
  return holdRow(env, (trx) => sql`SELECT id FROM ACCOUNT WHERE id = ${accountId} FOR UPDATE`.execute(trx))
}

/** Waits until `condition` holds (e.g. lockWaiters), every 200 ms, for at most `timeoutMs`. */
export async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    // Not faster: back-to-back information_schema reads stall the server's new connections.
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
