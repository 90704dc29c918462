// By path, not by package name: @concert/testing depends on this package, so a
// devDependency back on it would make the workspace graph cyclic.

import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useTestEnv } from '../../testing/src/index.js'
import { DEMO_EVENTS, isoDate, seedDemoData } from '../src/index.js'

const env = useTestEnv()

async function snapshot() {
  const counts: Record<string, unknown> = {}
  for (const table of [
    'VENUE',
    'VENUE_SEAT',
    'EVENT',
    'EVENT_SCHEDULE',
    'SEAT_PRICE',
    'ACCOUNT',
    'BALANCE_HISTORY',
  ] as const) {
    counts[table] = await env.db.selectFrom(table).selectAll().orderBy('id').execute()
  }
  return counts
}

describe('demo seed', () => {
  it('writes 50 seats numbered 1..50 in several areas and types', async () => {
    await seedDemoData(env.db)
    const seats = await env.db.selectFrom('VENUE_SEAT').selectAll().execute()
    expect(seats.map((s) => Number(s.seat_number)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    expect(new Set(seats.map((s) => s.area)).size).toBeGreaterThan(1)
    expect(new Set(seats.map((s) => s.seat_type)).size).toBeGreaterThan(1)
  })

  it('schedules two events on dates from today on', async () => {
    const today = isoDate(new Date())
    const events = await env.db.selectFrom('EVENT').selectAll().execute()
    expect(events).toHaveLength(2)
    const schedules = await env.db.selectFrom('EVENT_SCHEDULE').selectAll().execute()
    expect(schedules.length).toBe(DEMO_EVENTS.reduce((n, e) => n + e.dayOffsets.length, 0))
    for (const schedule of schedules) expect(schedule.date >= today).toBe(true)
    for (const event of events) {
      expect(schedules.filter((s) => s.event_id === event.id).length).toBeGreaterThan(1)
    }
  })

  it('prices every seat type of every event', async () => {
    const rows = await sql<{ event_id: number; seat_type: string; price: number | null }>`
      SELECT e.id AS event_id, s.seat_type, p.price
      FROM EVENT e
      JOIN VENUE_SEAT s ON s.venue_id = e.venue_id
      LEFT JOIN SEAT_PRICE p ON p.event_id = e.id AND p.seat_type = s.seat_type
      GROUP BY e.id, s.seat_type, p.price`.execute(env.db)
    expect(rows.rows.length).toBeGreaterThan(0)
    for (const row of rows.rows) expect(row.price).toBeGreaterThan(0)
  })

  it('gives accounts a balance that equals their ledger', async () => {
    const rows = await sql<{ id: string; amount: number; ledger: number }>`
      SELECT a.id, a.amount, CAST(COALESCE(SUM(h.amount), 0) AS SIGNED) AS ledger
      FROM ACCOUNT a LEFT JOIN BALANCE_HISTORY h ON h.account_id = a.id GROUP BY a.id, a.amount`.execute(
      env.db,
    )
    expect(rows.rows.length).toBeGreaterThanOrEqual(2)
    for (const row of rows.rows) {
      expect(row.amount).toBeGreaterThan(0)
      expect(Number(row.ledger)).toBe(row.amount)
    }
  })

  it('changes nothing when run again the same day', async () => {
    const before = await snapshot()
    const summary = await seedDemoData(env.db)
    expect(summary).toEqual({ venues: 0, seats: 0, events: 0, schedules: 0, prices: 0, accounts: 0 })
    expect(await snapshot()).toEqual(before)
  })

  it('only adds the newly upcoming shows when run on a later day', async () => {
    const later = new Date(Date.now() + 2 * 86_400_000)
    const summary = await seedDemoData(env.db, later)
    expect(summary.seats).toBe(0)
    expect(summary.accounts).toBe(0)
    expect(summary.schedules).toBeGreaterThan(0)
  })
})
