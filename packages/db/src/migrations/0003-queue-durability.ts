import { type Kysely, sql } from 'kysely'

/**
 * Fencing and uniqueness for the queue's durable copy:
 * - QUEUE_EPOCH: the facts of an event's queue that must outlive Redis: the epoch,
 *   bumped by every rebuild of its queue; when its pre-queue was drawn; sold out. Redis
 *   carries the epoch in the event's marker and in every mirror record; a write
 *   from an older epoch (read from Redis before it lost its data) is refused, so
 *   it can never land after a rebuild has read QUEUE_TOKEN.
 * - QUEUE_TOKEN.live_account_id: the account while the token is WAITING or READY,
 *   NULL once EXPIRED; UNIQUE(event_id, live_account_id) makes "one live token per
 *   (account, event)" a property of the database too, whatever faults happen.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('QUEUE_EPOCH')
    .addColumn('event_id', 'bigint', (c) => c.primaryKey())
    .addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0))
    // When the pre-queue's order was drawn (committed before it is shown to anyone).
    .addColumn('drawn_at', sql`timestamp(3)`)
    // 1 while no seat of the event's on-sale shows is left (SPEC §8 SOLD_OUT).
    .addColumn('sold_out', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await sql`ALTER TABLE QUEUE_TOKEN ADD COLUMN live_account_id varchar(64)
    GENERATED ALWAYS AS (IF(status IN ('WAITING', 'READY'), account_id, NULL)) STORED`.execute(db)
  await db.schema
    .createIndex('ux_queue_token_live_account')
    .on('QUEUE_TOKEN')
    .columns(['event_id', 'live_account_id'])
    .unique()
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ux_queue_token_live_account').on('QUEUE_TOKEN').execute()
  await sql`ALTER TABLE QUEUE_TOKEN DROP COLUMN live_account_id`.execute(db)
  await db.schema.dropTable('QUEUE_EPOCH').execute()
}
