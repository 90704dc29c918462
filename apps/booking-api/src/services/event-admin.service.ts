import { type Database, type Event, type EventUpdate, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely, Transaction } from 'kysely'
import type { AdminEvent, AdminSchedule, CreateEventBody, UpdateEventBody } from '../admin-schemas.js'
import { type AuditEntry, insertAudit } from '../repositories/admin-audit.repository.js'
import { findEventWithVenue, insertEvent, lockEvent, updateEvent } from '../repositories/events.repository.js'
import { listShowsOfEvent } from '../repositories/schedules.repository.js'
import { pricesOfEvent, upsertPrices } from '../repositories/seat-prices.repository.js'
import { seatTypesOfVenue } from '../repositories/venue-seats.repository.js'
import { findVenue } from '../repositories/venues.repository.js'
import { showStartsAt } from '../show-time.js'
import type { CatalogService } from './catalog.service.js'

type Show = Awaited<ReturnType<typeof listShowsOfEvent>>[number]

/** A show as the admin API shows it: venue-local date and times, and the start as a UTC instant. */
export function showView(show: Show): AdminSchedule {
  return {
    scheduleId: show.scheduleId,
    eventId: show.eventId,
    date: show.date,
    startTime: show.startTime,
    endTime: show.endTime,
    timeZone: show.timeZone,
    startsAt: showStartsAt(show).toISOString(),
    seatsSold: Number(show.seatsSold),
  }
}

export async function eventView(db: Kysely<Database>, eventId: number): Promise<AdminEvent> {
  const event = await findEventWithVenue(db, eventId)
  if (!event) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
  const [prices, shows] = await Promise.all([pricesOfEvent(db, eventId), listShowsOfEvent(db, eventId)])
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: { id: event.venue_id, name: event.venue_name, timeZone: event.venue_time_zone },
    prices,
    sale: {
      opensAt: event.opens_at?.toISOString() ?? null,
      closesAt: event.closes_at?.toISOString() ?? null,
      preQueueMinutes: event.pre_queue_minutes,
    },
    queue: {
      maxActive: event.max_active,
      admitPerSecond: event.admit_per_second,
      activeTtlSeconds: event.active_ttl_seconds,
      waitingIdleSeconds: event.waiting_idle_seconds,
      paused: Boolean(event.paused),
    },
    limits: { maxSeatsPerOrder: event.max_seats_per_order, maxSeatsPerAccount: event.max_seats_per_account },
    startDate: event.start_date,
    endDate: event.end_date,
    schedules: shows.map(showView),
    createdAt: event.created_at.toISOString(),
    updatedAt: event.updated_at.toISOString(),
  }
}

/** The EVENT columns a create or update body sets; absent fields are left out, nulls kept. */
function eventColumns(body: CreateEventBody | UpdateEventBody): EventUpdate {
  const columns: EventUpdate = {}
  const instant = (value: string | null) => (value === null ? null : new Date(value))
  if (body.title !== undefined) columns.title = body.title.trim()
  if (body.description !== undefined) columns.description = body.description?.trim() || null
  const { sale, queue, limits } = body
  if (sale?.opensAt !== undefined) columns.opens_at = instant(sale.opensAt)
  if (sale?.closesAt !== undefined) columns.closes_at = instant(sale.closesAt)
  if (sale?.preQueueMinutes !== undefined) columns.pre_queue_minutes = sale.preQueueMinutes
  if (queue?.maxActive !== undefined) columns.max_active = queue.maxActive
  if (queue?.admitPerSecond !== undefined) columns.admit_per_second = queue.admitPerSecond
  if (queue?.activeTtlSeconds !== undefined) columns.active_ttl_seconds = queue.activeTtlSeconds
  if (queue?.waitingIdleSeconds !== undefined) columns.waiting_idle_seconds = queue.waitingIdleSeconds
  if (limits?.maxSeatsPerOrder !== undefined) columns.max_seats_per_order = limits.maxSeatsPerOrder
  if (limits?.maxSeatsPerAccount !== undefined) columns.max_seats_per_account = limits.maxSeatsPerAccount
  return columns
}

/**
 * Rules over the event as stored after the write (column defaults included), checked
 * inside the write's transaction: a violation rolls the whole write back.
 */
function checkEventRules(event: Event): void {
  if (event.opens_at && event.closes_at && event.closes_at.getTime() <= event.opens_at.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'body/sale/closesAt must be after sale.opensAt')
  }
  if (event.max_seats_per_order > event.max_seats_per_account) {
    throw new AppError(
      'VALIDATION_FAILED',
      `body/limits: maxSeatsPerOrder (${event.max_seats_per_order}) must not exceed ` +
        `maxSeatsPerAccount (${event.max_seats_per_account})`,
    )
  }
}

/**
 * Prices must name seat types of the venue, spelled as the venue spells them; on
 * creation every seat type of the venue needs one (a seat without a price cannot sell).
 */
async function checkPrices(
  trx: Transaction<Database>,
  venueId: number,
  prices: Record<string, number>,
  { complete }: { complete: boolean },
): Promise<void> {
  const types = await seatTypesOfVenue(trx, venueId)
  const unknown = Object.keys(prices).filter((type) => !types.includes(type))
  const missing = complete ? types.filter((type) => !(type in prices)) : []
  if (unknown.length || missing.length) {
    const problems = [
      missing.length ? `no price for ${missing.join(', ')}` : '',
      unknown.length ? `no seats of type ${unknown.join(', ')}` : '',
    ]
    throw new AppError(
      'PRICES_MISMATCH',
      `venue ${venueId} has seat types ${types.join(', ')}: ${problems.filter(Boolean).join('; ')}`,
    )
  }
}

async function lockedEvent(trx: Transaction<Database>, eventId: number): Promise<Event> {
  const event = await lockEvent(trx, eventId)
  if (!event) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
  return event
}

/** Creates an event with its prices and settings (no shows yet) and its audit row, in one transaction. */
export async function createEvent(
  db: Kysely<Database>,
  body: CreateEventBody,
  audit: AuditEntry,
): Promise<AdminEvent> {
  const eventId = await retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      if (!(await findVenue(trx, body.venueId))) {
        throw new AppError('VENUE_NOT_FOUND', `venue ${body.venueId} does not exist`)
      }
      await checkPrices(trx, body.venueId, body.prices, { complete: true })
      const id = await insertEvent(trx, {
        title: body.title.trim(),
        venue_id: body.venueId,
        // The event's dates follow its shows; it has none yet.
        start_date: null,
        end_date: null,
        ...eventColumns(body),
      })
      checkEventRules(await lockedEvent(trx, id))
      await upsertPrices(trx, id, body.prices)
      await insertAudit(trx, audit, id)
      return id
    }),
  )
  return eventView(db, eventId)
}

/**
 * Changes what the body names. New prices apply to sales from now on: a sale made
 * already keeps the price stored on its RESERVATION.
 */
export async function updateEventSettings(
  db: Kysely<Database>,
  catalog: CatalogService,
  eventId: number,
  body: UpdateEventBody,
  audit: AuditEntry,
): Promise<AdminEvent> {
  await retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      const event = await lockedEvent(trx, eventId)
      if (body.prices) await checkPrices(trx, event.venue_id, body.prices, { complete: false })
      await updateEvent(trx, eventId, eventColumns(body))
      checkEventRules(await lockedEvent(trx, eventId))
      if (body.prices) await upsertPrices(trx, eventId, body.prices)
      await insertAudit(trx, audit, eventId)
    }),
  )
  // New prices and titles reach every copy's seat maps and lists from the next request on.
  await catalog.catalogueChanged(eventId)
  return eventView(db, eventId)
}
