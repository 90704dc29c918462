import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { type Kysely, sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { findFreeSeat } from '../src/repositories/catalog.repository.js'

/*
 * The probe after every sale (SaleService.afterSale): is a seat of the show still free?
 * Only a show left with none can have sold its event out. It used to read every live
 * reservation of the show on every sale (MariaDB materialized a NOT EXISTS), so a sale
 * of a 3,000-seat show cost more the more of it was sold. It now starts at the free seat
 * found last and wraps around; these tests pin down the answers and the rows it reads.
 */

const env = useTestEnv()
let scheduleId: number
/** The show's venue seats in seat-number order (the probe's order). */
let seats: Array<{ id: number; seatNumber: string }>

beforeAll(async () => {
  const catalog = await seedCatalog(env.db)
  const event = await env.db
    .selectFrom('EVENT')
    .select('venue_id')
    .where('id', '=', catalog.eventId)
    .executeTakeFirstOrThrow()
  scheduleId = (catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }).id
  seats = (
    await env.db
      .selectFrom('VENUE_SEAT')
      .select(['id', 'seat_number as seatNumber'])
      .where('venue_id', '=', event.venue_id)
      .orderBy('seat_number')
      .execute()
  ).map((seat) => ({ id: seat.id, seatNumber: seat.seatNumber }))
  await insertAccounts(env.db, 1, { prefix: 'probe' })
})

const seatAt = (i: number) => seats[i] as { id: number; seatNumber: string }

async function sell(indexes: readonly number[]): Promise<void> {
  await env.db
    .insertInto('RESERVATION')
    .values(
      indexes.map((i) => ({
        schedule_id: scheduleId,
        seat_id: seatAt(i).id,
        account_id: 'probe-1',
        price: 0,
      })),
    )
    .execute()
}

async function refund(i: number): Promise<void> {
  await env.db
    .updateTable('RESERVATION')
    .set({ status: 'REFUNDED' })
    .where('schedule_id', '=', scheduleId)
    .where('seat_id', '=', seatAt(i).id)
    .execute()
}

/** Index rows MariaDB read (Handler_read_next) for one probe, on one connection. */
async function rowsRead(from: string): Promise<{ found: string | undefined; read: number }> {
  return env.db.connection().execute(async (conn) => {
    const counter = async (db: Kysely<unknown>) =>
      Number(
        (await sql<{ Value: string }>`SHOW SESSION STATUS LIKE 'Handler_read_next'`.execute(db)).rows[0]
          ?.Value,
      )
    const before = await counter(conn as Kysely<unknown>)
    const found = await findFreeSeat(conn, scheduleId, from)
    return { found, read: (await counter(conn as Kysely<unknown>)) - before }
  })
}

describe('findFreeSeat', () => {
  it('finds the first free seat from a start, wraps to the seats before it, counts a refund as free, and says none when all are sold', async () => {
    const last = seats.length - 1
    expect(seats.length).toBeGreaterThanOrEqual(10)
    // Nothing sold: the first seat, from anywhere before it.
    expect(await findFreeSeat(env.db, scheduleId)).toBe(seatAt(0).seatNumber)
    // The first half sold: the first free one after it, from the start or from inside the run.
    const half = Math.floor(seats.length / 2)
    await sell(Array.from({ length: half }, (_, i) => i))
    expect(await findFreeSeat(env.db, scheduleId)).toBe(seatAt(half).seatNumber)
    expect(await findFreeSeat(env.db, scheduleId, seatAt(2).seatNumber)).toBe(seatAt(half).seatNumber)
    // Every seat sold: nothing is free from anywhere. Seat 3 refunded: found from after it
    // (the search wraps around), from itself and from the start; sold again, nothing is free.
    await sell(Array.from({ length: last - half + 1 }, (_, i) => half + i))
    expect(await findFreeSeat(env.db, scheduleId, seatAt(last).seatNumber)).toBeUndefined()
    await refund(3)
    expect(await findFreeSeat(env.db, scheduleId, seatAt(last).seatNumber)).toBe(seatAt(3).seatNumber)
    // A start that is no seat of the venue (a show moved to another venue, say) works the same.
    expect(await findFreeSeat(env.db, scheduleId, '~none')).toBe(seatAt(3).seatNumber)
    expect(await findFreeSeat(env.db, scheduleId, '#none')).toBe(seatAt(3).seatNumber)
    expect(await findFreeSeat(env.db, scheduleId, seatAt(3).seatNumber)).toBe(seatAt(3).seatNumber)
    expect(await findFreeSeat(env.db, scheduleId)).toBe(seatAt(3).seatNumber)
    await sell([3])
    expect(await findFreeSeat(env.db, scheduleId, seatAt(last).seatNumber)).toBeUndefined()
    expect(await findFreeSeat(env.db, scheduleId, seatAt(3).seatNumber)).toBeUndefined()
    expect(await findFreeSeat(env.db, scheduleId)).toBeUndefined()
    await env.db.deleteFrom('RESERVATION').where('schedule_id', '=', scheduleId).execute()
  })

  it('from the free seat found last, a probe reads a few index rows however many seats are sold before it', async () => {
    const sold = seats.length - 5
    await sell(Array.from({ length: sold }, (_, i) => i))
    try {
      // From the start it walks over every sold seat; from the free seat found last, over none.
      const fromStart = await rowsRead('')
      expect(fromStart.found).toBe(seatAt(sold).seatNumber)
      expect(fromStart.read).toBeGreaterThanOrEqual(sold)
      const fromLast = await rowsRead(fromStart.found as string)
      expect(fromLast.found).toBe(seatAt(sold).seatNumber)
      expect(fromLast.read).toBeLessThanOrEqual(2)
    } finally {
      await env.db.deleteFrom('RESERVATION').where('schedule_id', '=', scheduleId).execute()
    }
  })
})
