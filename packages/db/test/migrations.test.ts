// By path, not by package name: @concert/testing depends on this package, so a
// devDependency back on it would make the workspace graph cyclic.

import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createTestEnv, useTestEnv } from '../../testing/src/index.js'
import {
  createMigrator,
  DEMO_EVENTS,
  DEMO_VENUE,
  migrateToLatest,
  migrations,
  seedDemoData,
} from '../src/index.js'

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
        'ADMIN_AUDIT',
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
      'status',
      'order_id',
      'refunded_at',
      'refund_reason',
      'refund_key',
      'live_seat_id',
    ])
    expect(await columns('SEAT_PRICE')).toEqual(['id', 'event_id', 'seat_type', 'price', 'created_at'])
    expect(await columns('VENUE')).toEqual([
      'id',
      'name',
      'address',
      'capacity',
      'created_at',
      'updated_at',
      'time_zone',
    ])
    expect(await columns('EVENT')).toEqual([
      'id',
      'title',
      'description',
      'venue_id',
      'start_date',
      'end_date',
      'created_at',
      'updated_at',
      'opens_at',
      'closes_at',
      'pre_queue_minutes',
      'max_active',
      'admit_per_second',
      'active_ttl_seconds',
      'waiting_idle_seconds',
      'paused',
      'max_seats_per_order',
      'max_seats_per_account',
      'seed_key',
    ])
    expect(await columns('ADMIN_AUDIT')).toEqual([
      'id',
      'key_id',
      'method',
      'route',
      'target_id',
      'body',
      'created_at',
    ])
  })

  it('lets events share a title, but not a seed key; an event without shows has no dates', async () => {
    const venue = await env.db
      .insertInto('VENUE')
      .values({ name: 'Twin Hall', address: null, capacity: 1, time_zone: 'Europe/Berlin' })
      .executeTakeFirstOrThrow()
    const event = (seedKey: string | null) =>
      env.db
        .insertInto('EVENT')
        .values({
          title: 'Same Title',
          description: null,
          venue_id: Number(venue.insertId),
          seed_key: seedKey,
        })
        .execute()
    await event(null)
    await event(null)
    await event('demo-x')
    await expect(event('demo-x')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
    const rows = await env.db.selectFrom('EVENT').selectAll().where('title', '=', 'Same Title').execute()
    expect(rows).toHaveLength(3)
    for (const row of rows) {
      expect(row).toMatchObject({
        start_date: null,
        end_date: null,
        opens_at: null,
        closes_at: null,
        pre_queue_minutes: 15,
        max_active: null,
        admit_per_second: null,
        active_ttl_seconds: null,
        waiting_idle_seconds: null,
        paused: 0,
        max_seats_per_order: 4,
        max_seats_per_account: 8,
      })
    }
  })

  it('makes every new venue name its time zone', async () => {
    await expect(
      sql`INSERT INTO VENUE (name, capacity) VALUES ('No Zone Hall', 1)`.execute(env.db),
    ).rejects.toMatchObject({ code: expect.stringMatching(/ER_NO_DEFAULT_FOR_FIELD|ER_BAD_NULL_ERROR/) })
  })

  it('enforces unique emails', async () => {
    await account('u1', 'same@example.com')
    await expect(account('u2', 'same@example.com')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
  })

  it('enforces one live reservation per (schedule, seat); a refunded one frees the seat', async () => {
    const venue = await env.db
      .insertInto('VENUE')
      .values({ name: 'V', address: null, capacity: 1, time_zone: 'Asia/Seoul' })
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
    // Once refunded, the row keeps its history but no longer holds the seat: it sells again, once.
    await env.db
      .updateTable('RESERVATION')
      .set({ status: 'REFUNDED' })
      .where('account_id', '=', 'r1')
      .execute()
    await reservation('r2')
    await expect(reservation('r1')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' })
    const rows = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'status', 'live_seat_id'])
      .orderBy('id')
      .execute()
    expect(rows).toEqual([
      { account_id: 'r1', status: 'REFUNDED', live_seat_id: null },
      { account_id: 'r2', status: 'SOLD', live_seat_id: Number(seat.insertId) },
    ])
    // Only SOLD and REFUNDED exist.
    await expect(
      env.db
        .updateTable('RESERVATION')
        .set({ status: 'GONE' as never })
        .where('account_id', '=', 'r2')
        .execute(),
    ).rejects.toThrow(/ck_reservation_status/)
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

describe('0002-operator-catalogue on a database the v1 demo already runs on', () => {
  it('gives the demo venue Asia/Seoul and the demo events their seed keys, so seeding again adds no event', async () => {
    const old = await createTestEnv({ migrate: false })
    try {
      await createMigrator(old.db).migrateTo('0001-initial-schema')
      // What the v1 seed wrote: the hall, a seat, and the two events found by their (then unique) titles.
      await sql`INSERT INTO VENUE (name, address, capacity) VALUES (${DEMO_VENUE.name}, NULL, 50)`.execute(
        old.db,
      )
      for (const demo of DEMO_EVENTS) {
        await sql`INSERT INTO EVENT (title, description, venue_id, start_date, end_date)
          SELECT ${demo.title}, NULL, id, '2030-01-01', '2030-01-02' FROM VENUE`.execute(old.db)
      }
      expect(await migrateToLatest(old.db)).toEqual([
        '0002-operator-catalogue',
        '0003-queue-durability',
        '0004-orders-and-refunds',
      ])

      const venue = await old.db.selectFrom('VENUE').selectAll().executeTakeFirstOrThrow()
      expect(venue.time_zone).toBe('Asia/Seoul')
      const events = await old.db.selectFrom('EVENT').select(['title', 'seed_key']).orderBy('id').execute()
      expect(events).toEqual(DEMO_EVENTS.map((demo) => ({ title: demo.title, seed_key: demo.seedKey })))

      const summary = await seedDemoData(old.db)
      expect(summary).toMatchObject({ venues: 0, events: 0 })
      expect(await old.db.selectFrom('EVENT').select('id').execute()).toHaveLength(DEMO_EVENTS.length)
      expect(await seedDemoData(old.db)).toEqual({
        venues: 0,
        seats: 0,
        events: 0,
        schedules: 0,
        prices: 0,
        accounts: 0,
      })

      // And it can be rolled back (with 0003 and 0004 above it) while no operator data depends on it.
      await old.db.deleteFrom('EVENT_SCHEDULE').execute()
      await sql`UPDATE EVENT SET start_date = '2030-01-01', end_date = '2030-01-02'`.execute(old.db)
      const down = await createMigrator(old.db).migrateTo('0001-initial-schema')
      expect(down.error).toBeUndefined()
      const tables = await sql<{ TABLE_NAME: string }>`
        SELECT TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ${old.databaseName} AND TABLE_NAME = 'ADMIN_AUDIT'`.execute(old.db)
      expect(tables.rows).toEqual([])
    } finally {
      await old.close()
    }
  })
})

describe('0004-orders-and-refunds on a database with v1 sales', () => {
  it('keeps every sale SOLD as an order of one, and rolls back while no seat was sold twice', async () => {
    const old = await createTestEnv({ migrate: false })
    try {
      await createMigrator(old.db).migrateTo('0003-queue-durability')
      await seedDemoData(old.db)
      const schedule = await old.db.selectFrom('EVENT_SCHEDULE').select('id').executeTakeFirstOrThrow()
      const seats = await old.db.selectFrom('VENUE_SEAT').select('id').orderBy('id').limit(2).execute()
      const buyer = await old.db.selectFrom('ACCOUNT').select('id').executeTakeFirstOrThrow()
      for (const seat of seats) {
        await sql`INSERT INTO RESERVATION (schedule_id, seat_id, account_id, price)
          VALUES (${schedule.id}, ${seat.id}, ${buyer.id}, 100)`.execute(old.db)
      }
      expect(await migrateToLatest(old.db)).toEqual(['0004-orders-and-refunds'])
      const rows = await old.db
        .selectFrom('RESERVATION')
        .select(['id', 'order_id', 'status', 'seat_id', 'live_seat_id'])
        .orderBy('id')
        .execute()
      expect(rows).toEqual(
        rows.map((row, i) => ({
          id: row.id,
          order_id: row.id,
          status: 'SOLD',
          seat_id: seats[i]?.id,
          live_seat_id: seats[i]?.id,
        })),
      )
      const down = await createMigrator(old.db).migrateTo('0003-queue-durability')
      expect(down.error).toBeUndefined()
      expect(await old.db.selectFrom('RESERVATION').select('id').execute()).toHaveLength(2)
    } finally {
      await old.close()
    }
  })
})
