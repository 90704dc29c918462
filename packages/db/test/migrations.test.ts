// By path, not by package name: @concert/testing depends on this package, so a
// devDependency back on it would make the workspace graph cyclic.

import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useTestEnv } from '../../testing/src/index.js'
import { migrateToLatest, migrations } from '../src/index.js'

const env = useTestEnv()

async function columns(table: string): Promise<string[]> {
  const rows = await sql<{ COLUMN_NAME: string }>`
    SELECT COLUMN_NAME FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = ${env.databaseName} AND TABLE_NAME = ${table}
    ORDER BY ORDINAL_POSITION`.execute(env.db)
  return rows.rows.map((r) => r.COLUMN_NAME)
}

async function account(id: string, email: string) {
  await env.db.insertInto('ACCOUNT').values({ id, email, name: id, amount: 0 }).execute()
}

describe('migrations', () => {
  it('creates every table of the origin DDL plus the SPEC §5 additions', async () => {
    const tables = await sql<{ TABLE_NAME: string }>`
      SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${env.databaseName}`.execute(
      env.db,
    )
    expect(tables.rows.map((t) => t.TABLE_NAME).sort()).toEqual(
      [
        'ACCOUNT',
        'BALANCE_HISTORY',
        'EVENT',
        'EVENT_SCHEDULE',
        'QUEUE_EPOCH',
        'QUEUE_TOKEN',
        'RESERVATION',
        'SEAT_PRICE',
        'VENUE',
        'VENUE_SEAT',
        'kysely_migration',
        'kysely_migration_lock',
      ].sort(),
    )
  })

  it('keeps the origin columns and adds the documented ones', async () => {
    expect(await columns('ACCOUNT')).toEqual(['id', 'email', 'name', 'amount', 'created_at', 'updated_at'])
    expect(await columns('QUEUE_TOKEN')).toEqual([
      'token',
      'account_id',
      'event_id',
      'position',
      'status',
      'reason',
      'issued_at',
      'ready_at',
      'expires_at',
      'version',
      'updated_at',
      'live_account_id',
    ])
    expect(await columns('BALANCE_HISTORY')).toEqual([
      'id',
      'account_id',
      'amount',
      'type',
      'reservation_id',
      'idempotency_key',
      'balance_after',
      'created_at',
    ])
    expect(await columns('RESERVATION')).toEqual([
      'id',
      'schedule_id',
      'seat_id',
      'account_id',
      'price',
      'reserved_at',
    ])
    expect(await columns('SEAT_PRICE')).toEqual(['id', 'event_id', 'seat_type', 'price', 'created_at'])
  })

  it('enforces unique emails', async () => {
    await account('u1', 'same@example.com')
    await expect(account('u2', 'same@example.com')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
  })

  it('enforces one reservation per (schedule, seat)', async () => {
    const venue = await env.db
      .insertInto('VENUE')
      .values({ name: 'V', address: null, capacity: 1 })
      .executeTakeFirst()
    const venueId = Number(venue.insertId)
    const seat = await env.db
      .insertInto('VENUE_SEAT')
      .values({ venue_id: venueId, seat_number: '1', area: 'A', seat_type: 'R' })
      .executeTakeFirst()
    const event = await env.db
      .insertInto('EVENT')
      .values({
        title: 'E',
        description: null,
        venue_id: venueId,
        start_date: '2030-01-01',
        end_date: '2030-01-02',
      })
      .executeTakeFirst()
    const schedule = await env.db
      .insertInto('EVENT_SCHEDULE')
      .values({
        event_id: Number(event.insertId),
        date: '2030-01-01',
        start_time: '19:00:00',
        end_time: null,
      })
      .executeTakeFirst()
    await account('r1', 'r1@example.com')
    await account('r2', 'r2@example.com')
    const reservation = (accountId: string) =>
      env.db
        .insertInto('RESERVATION')
        .values({
          schedule_id: Number(schedule.insertId),
          seat_id: Number(seat.insertId),
          account_id: accountId,
          price: 100,
        })
        .execute()
    await reservation('r1')
    await expect(reservation('r2')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
  })

  it('enforces one idempotency key per account, and allows many rows without a key', async () => {
    await account('h1', 'h1@example.com')
    const row = (key: string | null) =>
      env.db
        .insertInto('BALANCE_HISTORY')
        .values({
          account_id: 'h1',
          amount: 10,
          type: 'CHARGE',
          reservation_id: null,
          idempotency_key: key,
          balance_after: 10,
        })
        .execute()
    await row(null)
    await row(null)
    await row('k-1')
    await expect(row('k-1')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
  })

  it('refuses a negative balance at the database level', async () => {
    await account('n1', 'n1@example.com')
    await expect(
      env.db.updateTable('ACCOUNT').set({ amount: -1 }).where('id', '=', 'n1').execute(),
    ).rejects.toThrow(/ck_account_amount_non_negative/)
  })

  it('running up again is a no-op', async () => {
    expect(await migrateToLatest(env.db)).toEqual([])
    const applied = await env.db
      .selectFrom('kysely_migration' as never)
      .selectAll()
      .execute()
    expect(applied).toHaveLength(Object.keys(migrations).length)
  })
})
