import { type Kysely, sql } from 'kysely'

/*
 * SPEC §7 (v2): operators create venues, events and shows through the admin API.
 * - VENUE.time_zone: a show's date and start time are wall-clock times in its venue's IANA
 *   zone. The only venue that can exist before this migration is the demo hall in Seoul.
 * - EVENT: the sale window, per-event queue settings (NULL = the QUEUE_* env default), the
 *   pause flag and the purchase limits, ready for the sale lifecycle (SPEC §8, §9). The sale
 *   window is DATETIME(3) in UTC, not TIMESTAMP, so it may lie past 2038.
 *   start_date/end_date follow the event's shows and are NULL while it has none.
 * - Titles may repeat now, so the demo seed finds its events by `seed_key` instead.
 * - ADMIN_AUDIT: one row per admin write, written in the write's own transaction.
 */
const ts = sql`timestamp(3)`
const now = sql`CURRENT_TIMESTAMP(3)`

/** The demo events as the seed wrote them under 0001 (titles were unique then). */
const DEMO_SEED_KEYS = [
  ['demo-aurora', 'Aurora World Tour in Seoul'],
  ['demo-jazz', 'Midnight Jazz Night'],
] as const

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('VENUE')
    .addColumn('time_zone', 'varchar(64)', (c) => c.notNull().defaultTo('Asia/Seoul'))
    .execute()
  // The default only filled the existing rows; every new venue must name its zone.
  await db.schema
    .alterTable('VENUE')
    .alterColumn('time_zone', (c) => c.dropDefault())
    .execute()

  await db.schema
    .alterTable('EVENT')
    .addColumn('opens_at', sql`datetime(3)`)
    .addColumn('closes_at', sql`datetime(3)`)
    .addColumn('pre_queue_minutes', 'integer', (c) => c.notNull().defaultTo(15))
    .addColumn('max_active', 'integer')
    .addColumn('admit_per_second', 'integer')
    .addColumn('active_ttl_seconds', 'integer')
    .addColumn('waiting_idle_seconds', 'integer')
    .addColumn('paused', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('max_seats_per_order', 'integer', (c) => c.notNull().defaultTo(4))
    .addColumn('max_seats_per_account', 'integer', (c) => c.notNull().defaultTo(8))
    .addColumn('seed_key', 'varchar(64)')
    .execute()
  await db.schema
    .alterTable('EVENT')
    .modifyColumn('start_date', 'date')
    .modifyColumn('end_date', 'date')
    .execute()
  await db.schema.dropIndex('uq_event_title').on('EVENT').execute()
  for (const [key, title] of DEMO_SEED_KEYS) {
    await db.updateTable('EVENT').set({ seed_key: key }).where('title', '=', title).execute()
  }
  // NULL keys never collide: only seeded events carry one.
  await db.schema.alterTable('EVENT').addUniqueConstraint('uq_event_seed_key', ['seed_key']).execute()

  await db.schema
    .createTable('ADMIN_AUDIT')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('key_id', 'varchar(16)', (c) => c.notNull())
    .addColumn('method', 'varchar(8)', (c) => c.notNull())
    .addColumn('route', 'varchar(255)', (c) => c.notNull())
    .addColumn('target_id', 'bigint')
    // A venue's seat layout can be hundreds of kilobytes.
    .addColumn('body', sql`mediumtext`)
    .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('ix_admin_audit_target').on('ADMIN_AUDIT').columns(['target_id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ADMIN_AUDIT').ifExists().execute()
  await db.schema.dropIndex('uq_event_seed_key').on('EVENT').execute()
  await db.schema
    .alterTable('EVENT')
    .dropColumn('opens_at')
    .dropColumn('closes_at')
    .dropColumn('pre_queue_minutes')
    .dropColumn('max_active')
    .dropColumn('admit_per_second')
    .dropColumn('active_ttl_seconds')
    .dropColumn('waiting_idle_seconds')
    .dropColumn('paused')
    .dropColumn('max_seats_per_order')
    .dropColumn('max_seats_per_account')
    .dropColumn('seed_key')
    .execute()
  // Fails, as it should, while events without shows or with repeated titles exist.
  await db.schema
    .alterTable('EVENT')
    .modifyColumn('start_date', 'date', (c) => c.notNull())
    .modifyColumn('end_date', 'date', (c) => c.notNull())
    .execute()
  await db.schema.alterTable('EVENT').addUniqueConstraint('uq_event_title', ['title']).execute()
  await db.schema.alterTable('VENUE').dropColumn('time_zone').execute()
}
