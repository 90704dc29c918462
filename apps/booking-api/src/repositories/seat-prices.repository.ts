import type { DbExecutor } from '@concert/db'

/**
 * Sets the event's price of each given seat type (new types added, others left as
 * they are). Sales already made keep the price stored on their RESERVATION.
 */
export async function upsertPrices(
  db: DbExecutor,
  eventId: number,
  prices: Record<string, number>,
): Promise<void> {
  for (const [seatType, price] of Object.entries(prices)) {
    await db
      .insertInto('SEAT_PRICE')
      .values({ event_id: eventId, seat_type: seatType, price })
      .onDuplicateKeyUpdate({ price })
      .execute()
  }
}

export async function pricesOfEvent(db: DbExecutor, eventId: number): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('SEAT_PRICE')
    .select(['seat_type', 'price'])
    .where('event_id', '=', eventId)
    .orderBy('seat_type')
    .execute()
  return Object.fromEntries(rows.map((row) => [row.seat_type, row.price]))
}
