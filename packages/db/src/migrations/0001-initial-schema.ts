import { type Kysely, sql } from 'kysely'

/*
 * The origin DDL (ACCOUNT … RESERVATION) plus SPEC §5: QUEUE_TOKEN.event_id/reason/version,
 * SEAT_PRICE, RESERVATION.price, BALANCE_HISTORY.type/reservation_id/idempotency_key, and an
 * index for every lookup path. Timestamps carry milliseconds so queue times survive the mirror.
 * Written for MySQL 8 and MariaDB 10.11 alike (no functional indexes, no JSON columns).
 */
const ts = sql`timestamp(3)`
const now = sql`CURRENT_TIMESTAMP(3)`
const onUpdateNow = sql`on update CURRENT_TIMESTAMP(3)`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('VENUE')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('address', 'varchar(255)')
    .addColumn('capacity', 'integer', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now).modifyEnd(onUpdateNow))
    .addUniqueConstraint('uq_venue_name', ['name'])
    .execute()

  await db.schema
    .createTable('VENUE_SEAT')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('venue_id', 'bigint', (c) => c.notNull().references('VENUE.id'))
    .addColumn('seat_number', 'varchar(16)', (c) => c.notNull())
    .addColumn('area', 'varchar(64)', (c) => c.notNull())
    .addColumn('seat_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('uq_venue_seat_number', ['venue_id', 'seat_number'])
    .execute()

  await db.schema
    .createTable('EVENT')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('title', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('venue_id', 'bigint', (c) => c.notNull().references('VENUE.id'))
    .addColumn('start_date', 'date', (c) => c.notNull())
    .addColumn('end_date', 'date', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now).modifyEnd(onUpdateNow))
    .addUniqueConstraint('uq_event_title', ['title'])
    .execute()

  await db.schema
    .createTable('EVENT_SCHEDULE')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('event_id', 'bigint', (c) => c.notNull().references('EVENT.id'))
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('start_time', 'time', (c) => c.notNull())
    .addColumn('end_time', 'time')
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('uq_schedule_event_date_time', ['event_id', 'date', 'start_time'])
    .execute()

  await db.schema
    .createTable('SEAT_PRICE')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('event_id', 'bigint', (c) => c.notNull().references('EVENT.id'))
    .addColumn('seat_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('price', 'integer', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('uq_seat_price_event_type', ['event_id', 'seat_type'])
    .addCheckConstraint('ck_seat_price_non_negative', sql`price >= 0`)
    .execute()

  await db.schema
    .createTable('ACCOUNT')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(128)', (c) => c.notNull())
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now).modifyEnd(onUpdateNow))
    .addUniqueConstraint('uq_account_email', ['email'])
    .addCheckConstraint('ck_account_amount_non_negative', sql`amount >= 0`)
    .execute()

  await db.schema
    .createTable('RESERVATION')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('schedule_id', 'bigint', (c) => c.notNull().references('EVENT_SCHEDULE.id'))
    .addColumn('seat_id', 'bigint', (c) => c.notNull().references('VENUE_SEAT.id'))
    .addColumn('account_id', 'varchar(64)', (c) => c.notNull().references('ACCOUNT.id'))
    .addColumn('price', 'integer', (c) => c.notNull())
    .addColumn('reserved_at', ts, (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('uq_reservation_schedule_seat', ['schedule_id', 'seat_id'])
    .execute()
  await db.schema
    .createIndex('ix_reservation_account')
    .on('RESERVATION')
    .columns(['account_id', 'id'])
    .execute()

  await db.schema
    .createTable('BALANCE_HISTORY')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('account_id', 'varchar(64)', (c) => c.notNull().references('ACCOUNT.id'))
    .addColumn('amount', 'integer', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('reservation_id', 'bigint', (c) => c.references('RESERVATION.id'))
    .addColumn('idempotency_key', 'varchar(128)')
    .addColumn('balance_after', 'integer', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    // NULL keys never collide, so requests without a key are unaffected.
    .addUniqueConstraint('uq_balance_history_idempotency', ['account_id', 'idempotency_key'])
    .execute()
  await db.schema
    .createIndex('ix_balance_history_account')
    .on('BALANCE_HISTORY')
    .columns(['account_id', 'id'])
    .execute()

  // No foreign keys here on purpose: the mirror worker must never stall on a
  // constraint while Redis already holds the truth.
  await db.schema
    .createTable('QUEUE_TOKEN')
    .addColumn('token', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('account_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('reason', 'varchar(32)')
    .addColumn('issued_at', ts, (c) => c.notNull().defaultTo(now))
    .addColumn('ready_at', ts)
    .addColumn('expires_at', ts)
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now).modifyEnd(onUpdateNow))
    .execute()
  await db.schema
    .createIndex('ix_queue_token_account_event')
    .on('QUEUE_TOKEN')
    .columns(['account_id', 'event_id'])
    .execute()
  // Recovery reads one event's live tokens in place order.
  await db.schema
    .createIndex('ix_queue_token_event_status_position')
    .on('QUEUE_TOKEN')
    .columns(['event_id', 'status', 'position'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'QUEUE_TOKEN',
    'BALANCE_HISTORY',
    'RESERVATION',
    'ACCOUNT',
    'SEAT_PRICE',
    'EVENT_SCHEDULE',
    'EVENT',
    'VENUE_SEAT',
    'VENUE',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
