import type { DbExecutor } from '@concert/db'
import { sql } from 'kysely'

export interface SeatLayout {
  seatNumber: string
  area: string
  seatType: string
}

/** Rows per INSERT: a 5,000-seat hall goes in five statements, not one huge one. */
const CHUNK = 1_000

export async function insertSeats(db: DbExecutor, venueId: number, seats: SeatLayout[]): Promise<void> {
  for (let start = 0; start < seats.length; start += CHUNK) {
    await db
      .insertInto('VENUE_SEAT')
      .values(
        seats.slice(start, start + CHUNK).map((seat) => ({
          venue_id: venueId,
          seat_number: seat.seatNumber,
          area: seat.area,
          seat_type: seat.seatType,
        })),
      )
      .execute()
  }
}

/** The venue's seats in seat-number order (numerically where the numbers are numbers). */
export function listSeatsOfVenue(db: DbExecutor, venueId: number) {
  return db
    .selectFrom('VENUE_SEAT')
    .select(['id as seatId', 'seat_number as seatNumber', 'area', 'seat_type as seatType'])
    .where('venue_id', '=', venueId)
    .orderBy(sql`CAST(seat_number AS UNSIGNED)`)
    .orderBy('seat_number')
    .execute()
}

export async function seatTypesOfVenue(db: DbExecutor, venueId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('VENUE_SEAT')
    .select('seat_type')
    .distinct()
    .where('venue_id', '=', venueId)
    .execute()
  return rows.map((row) => row.seat_type)
}
