import { type Kysely, sql } from 'kysely'

/*
 * SPEC §9 (v2): orders of several seats, and refunds.
 * - RESERVATION.status: SOLD, or REFUNDED once an operator refunded the sale. A refunded
 *   row stays (the ledger's REFUND row points at it) but no longer holds its seat.
 * - RESERVATION.live_seat_id: the seat while SOLD, NULL once REFUNDED (generated, so it can
 *   never disagree with `status`). UNIQUE(schedule_id, live_seat_id) replaces
 *   UNIQUE(schedule_id, seat_id): still the last guard against selling a seat twice, while a
 *   refunded seat can be sold again.
 * - RESERVATION.order_id: the id of the first reservation of the order the row was bought in
 *   (a v1 sale is an order of one), so a replayed Idempotency-Key answers with every seat.
 * - RESERVATION.refunded_at / refund_reason / refund_key: when and why it was refunded, and
 *   the operator's Idempotency-Key (unique: one key, one refund).
 * - BALANCE_HISTORY.type gains REFUND (the column is a plain varchar; nothing to alter).
 */
const ts = sql`timestamp(3)`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('RESERVATION')
    .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('SOLD'))
    .addColumn('order_id', 'bigint')
    .addColumn('refunded_at', ts)
    .addColumn('refund_reason', 'varchar(500)')
    .addColumn('refund_key', 'varchar(128)')
    .execute()
  await sql`ALTER TABLE RESERVATION ADD CONSTRAINT ck_reservation_status
    CHECK (status IN ('SOLD', 'REFUNDED'))`.execute(db)
  await sql`UPDATE RESERVATION SET order_id = id`.execute(db)
  await sql`ALTER TABLE RESERVATION ADD COLUMN live_seat_id bigint
    GENERATED ALWAYS AS (IF(status = 'SOLD', seat_id, NULL)) STORED`.execute(db)
  // The new key first: its leading schedule_id keeps serving the foreign key when the old one goes.
  await db.schema
    .createIndex('uq_reservation_live_seat')
    .on('RESERVATION')
    .columns(['schedule_id', 'live_seat_id'])
    .unique()
    .execute()
  await db.schema.alterTable('RESERVATION').dropConstraint('uq_reservation_schedule_seat').execute()
  await db.schema.createIndex('ix_reservation_order').on('RESERVATION').column('order_id').execute()
  await db.schema
    .createIndex('uq_reservation_refund_key')
    .on('RESERVATION')
    .column('refund_key')
    .unique()
    .execute()
}

/** Refused (duplicate key) while a refunded seat has been sold again: that history cannot fit the old key. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('RESERVATION')
    .addUniqueConstraint('uq_reservation_schedule_seat', ['schedule_id', 'seat_id'])
    .execute()
  await db.schema.dropIndex('uq_reservation_refund_key').on('RESERVATION').execute()
  await db.schema.dropIndex('ix_reservation_order').on('RESERVATION').execute()
  await db.schema.dropIndex('uq_reservation_live_seat').on('RESERVATION').execute()
  await sql`ALTER TABLE RESERVATION DROP CONSTRAINT ck_reservation_status`.execute(db)
  await sql`ALTER TABLE RESERVATION DROP COLUMN live_seat_id`.execute(db)
  await db.schema
    .alterTable('RESERVATION')
    .dropColumn('refund_key')
    .dropColumn('refund_reason')
    .dropColumn('refunded_at')
    .dropColumn('order_id')
    .dropColumn('status')
    .execute()
}
