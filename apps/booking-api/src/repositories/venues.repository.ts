import type { DbExecutor } from '@concert/db'

export async function insertVenue(
  db: DbExecutor,
  venue: { name: string; address: string | null; timeZone: string; capacity: number },
): Promise<number> {
  const result = await db
    .insertInto('VENUE')
    .values({ name: venue.name, address: venue.address, time_zone: venue.timeZone, capacity: venue.capacity })
    .executeTakeFirstOrThrow()
  return Number(result.insertId)
}

export function findVenue(db: DbExecutor, id: number) {
  return db.selectFrom('VENUE').selectAll().where('id', '=', id).executeTakeFirst()
}
