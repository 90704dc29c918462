import type { Database } from '@concert/db'
import { type Kysely, sql, type Transaction } from 'kysely'

/*
 * QUEUE_EPOCH: the fence between a queue's Redis lifetimes. Only this module
 * writes the table. Every rebuild bumps the event's epoch before it reads
 * QUEUE_TOKEN; every write of Redis-read state holds the epoch row in share
 * mode and keeps only states stamped with the current epoch. So a write read
 * from Redis before it lost its data either commits before the rebuild reads
 * (and is rebuilt) or is refused: it can never land after.
 */

/** Starts the event's next epoch (waits for writes holding the current one) and returns it. */
export async function beginNextEpoch(db: Kysely<Database>, eventId: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('QUEUE_EPOCH')
      .values({ event_id: eventId, epoch: 1 })
      .onDuplicateKeyUpdate({ epoch: sql`epoch + 1` })
      .execute()
    const row = await trx
      .selectFrom('QUEUE_EPOCH')
      .select('epoch')
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow()
    return row.epoch
  })
}

/**
 * Inside a writing transaction: the event's current epoch, with the row held
 * in share mode until commit so no rebuild can start its next epoch meanwhile.
 */
export async function holdEpoch(trx: Transaction<Database>, eventId: number): Promise<number> {
  const row = await trx
    .selectFrom('QUEUE_EPOCH')
    .select('epoch')
    .where('event_id', '=', eventId)
    .modifyEnd(sql`LOCK IN SHARE MODE`)
    .executeTakeFirst()
  return row?.epoch ?? 0
}
