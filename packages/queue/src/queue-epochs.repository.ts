import type { Database, DbExecutor } from '@concert/db'
import { type Kysely, sql, type Transaction } from 'kysely'
import { newestPerToken, retryTokenWrite, writeTokenStates } from './queue-tokens.repository.js'
import type { TokenState } from './token-state.js'

/*
 * QUEUE_EPOCH: the fence between a queue's Redis lifetimes. Only this module
 * writes the table. Every rebuild bumps the event's epoch before it reads
 * QUEUE_TOKEN; every write of Redis-read state holds the epoch row in share
 * mode and keeps only states stamped with the current epoch. So a write read
 * from Redis before it lost its data either commits before the rebuild reads
 * (and is rebuilt) or is refused: it can never land after.
 */

/**
 * Starts the event's next epoch (waits for writes holding the current one) and returns it.
 * Run again when InnoDB undoes it in a deadlock: a pre-queue draw holding the row in share
 * mode asks for it exclusively at its end, behind this request (recordDrawn).
 */
export async function beginNextEpoch(db: Kysely<Database>, eventId: number): Promise<number> {
  return retryTokenWrite(() => nextEpoch(db, eventId))
}

function nextEpoch(db: Kysely<Database>, eventId: number): Promise<number> {
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
 * First in a sold-out recount's transaction: the event's row (made if missing) held
 * exclusively until commit, so the recounts of one event run one after another and
 * each counts what the ones before it committed (sale.ts recountSoldOut). An upsert, not
 * a read: a shared lock first and an exclusive one after would deadlock two recounts.
 */
export async function lockSoldOut(trx: Transaction<Database>, eventId: number): Promise<void> {
  await trx
    .insertInto('QUEUE_EPOCH')
    .values({ event_id: eventId, epoch: 0 })
    .onDuplicateKeyUpdate({ event_id: eventId })
    .execute()
}

/** Whether QUEUE_EPOCH says the event is sold out. */
export async function readSoldOut(db: Kysely<Database>, eventId: number): Promise<boolean> {
  const row = await db
    .selectFrom('QUEUE_EPOCH')
    .select('sold_out')
    .where('event_id', '=', eventId)
    .executeTakeFirst()
  return Boolean(row?.sold_out)
}

/** Whether the event is sold out, kept here so it outlives Redis (see sale.ts). */
export async function recordSoldOut(db: DbExecutor, eventId: number, soldOut: boolean): Promise<void> {
  await db
    .insertInto('QUEUE_EPOCH')
    .values({ event_id: eventId, epoch: 0, sold_out: soldOut ? 1 : 0 })
    .onDuplicateKeyUpdate({ sold_out: soldOut ? 1 : 0 })
    .execute()
}

/**
 * Inside the draw's transaction: the epoch row held in share mode, as every writer of
 * Redis-read state holds it (no rebuild can start meanwhile, and joins still commit
 * while the draw writes its places), and when the pre-queue was drawn.
 */
export async function holdEpochForDraw(
  trx: Transaction<Database>,
  eventId: number,
): Promise<{ epoch: number; drawnAt: Date | null }> {
  const row = await trx
    .selectFrom('QUEUE_EPOCH')
    .select(['epoch', 'drawn_at'])
    .where('event_id', '=', eventId)
    .modifyEnd(sql`LOCK IN SHARE MODE`)
    .executeTakeFirst()
  return { epoch: row?.epoch ?? 0, drawnAt: row?.drawn_at ?? null }
}

/**
 * Records the draw, last in its transaction: false when another draw was recorded
 * first (two copies drew at once, the Redis draw lock lost), whose order then stands.
 */
export async function recordDrawn(trx: Transaction<Database>, eventId: number): Promise<boolean> {
  const result = await trx
    .updateTable('QUEUE_EPOCH')
    .set({ drawn_at: sql`CURRENT_TIMESTAMP(3)` })
    .where('event_id', '=', eventId)
    .where('drawn_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
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

/**
 * One transaction of token states read from Redis: it holds the event's epoch row
 * (holdEpoch), writes the states `pick` chooses for the epoch it finds (the newest per
 * token), and is run again on a deadlock or a first-insert race (retryTokenWrite).
 * Returns that epoch: states read in an earlier one were left out. READ COMMITTED keeps
 * InnoDB from gap-locking the rows a payment is about to insert.
 */
export function writeInCurrentEpoch(
  db: Kysely<Database>,
  eventId: number,
  pick: (trx: Transaction<Database>, epoch: number) => TokenState[] | Promise<TokenState[]>,
): Promise<number> {
  return retryTokenWrite(() =>
    db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        const epoch = await holdEpoch(trx, eventId)
        await writeTokenStates(trx, eventId, newestPerToken(await pick(trx, epoch)))
        return epoch
      }),
  )
}
