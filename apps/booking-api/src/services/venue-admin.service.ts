import { type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import type { AdminVenue, CreateVenueBody } from '../admin-schemas.js'
import { type AuditEntry, insertAudit } from '../repositories/admin-audit.repository.js'
import { insertSeats, listSeatsOfVenue } from '../repositories/venue-seats.repository.js'
import { findVenue, insertVenue } from '../repositories/venues.repository.js'
import { canonicalTimeZone } from '../show-time.js'

/**
 * Values that occur more than once when case is ignored: MySQL compares seat
 * numbers case-insensitively, so 'a1' and 'A1' are one seat.
 */
function repeated(values: string[]): string[] {
  const seen = new Set<string>()
  const again = new Set<string>()
  for (const value of values) {
    const key = value.toUpperCase()
    if (seen.has(key)) again.add(value)
    else seen.add(key)
  }
  return [...again]
}

/** Spellings of one seat type that differ only in case ('VIP', 'vip'): prices could not tell them apart. */
function clashingSeatTypes(types: string[]): string[] {
  const spellings = new Map<string, Set<string>>()
  for (const type of types) {
    const key = type.toUpperCase()
    spellings.set(key, (spellings.get(key) ?? new Set()).add(type))
  }
  return [...spellings.values()].filter((set) => set.size > 1).flatMap((set) => [...set])
}

const sample = (values: string[]) => values.slice(0, 10).join(', ') + (values.length > 10 ? ', …' : '')

/** A venue and its seat layout, as the admin API shows it. */
export async function venueView(db: Kysely<Database>, venueId: number): Promise<AdminVenue> {
  const venue = await findVenue(db, venueId)
  if (!venue) throw new AppError('VENUE_NOT_FOUND', `venue ${venueId} does not exist`)
  const seats = await listSeatsOfVenue(db, venueId)
  return {
    id: venue.id,
    name: venue.name,
    address: venue.address,
    timeZone: venue.time_zone,
    capacity: venue.capacity,
    seats,
    createdAt: venue.created_at.toISOString(),
  }
}

/**
 * Creates a venue with its whole seat layout in one transaction, with its audit row.
 * The zone is stored as Intl's canonical name of it ('asia/seoul' → 'Asia/Seoul').
 */
export async function createVenue(
  db: Kysely<Database>,
  body: CreateVenueBody,
  audit: AuditEntry,
): Promise<AdminVenue> {
  const timeZone = canonicalTimeZone(body.timeZone)
  if (!timeZone) {
    throw new AppError('VALIDATION_FAILED', `body/timeZone "${body.timeZone}" is not an IANA time zone`)
  }
  const duplicates = repeated(body.seats.map((seat) => seat.seatNumber))
  if (duplicates.length) {
    throw new AppError('VALIDATION_FAILED', `body/seats: seat numbers must be unique: ${sample(duplicates)}`)
  }
  const clashes = clashingSeatTypes(body.seats.map((seat) => seat.seatType))
  if (clashes.length) {
    throw new AppError(
      'VALIDATION_FAILED',
      `body/seats: seat types that differ only in case are one type: ${sample(clashes)}`,
    )
  }
  const name = body.name.trim()
  const address = body.address?.trim() || null

  // Parallel inserts of one unique name can deadlock in InnoDB; the victim was undone whole, so it reruns.
  const venueId = await retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      let id: number
      try {
        id = await insertVenue(trx, { name, address, timeZone, capacity: body.seats.length })
      } catch (error) {
        if (isDuplicateKey(error)) throw new AppError('VENUE_NAME_TAKEN', `a venue named "${name}" exists`)
        throw error
      }
      await insertSeats(
        trx,
        id,
        body.seats.map((seat) => ({ ...seat, area: seat.area.trim() })),
      )
      await insertAudit(trx, audit, id)
      return id
    }),
  )
  return venueView(db, venueId)
}
