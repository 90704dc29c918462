import type { Database, DbExecutor } from '@concert/db'
import { type CatalogChange, type RedisClient, saleStateAt } from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import {
  type CachedBody,
  CatalogVersions,
  cachedBody,
  VERSION_FIELDS,
  VersionedCache,
} from '../catalog-cache.js'
import type { CatalogVersionsRead } from '../plugins/token-guard.js'
import {
  findEvent,
  findPricedSeats,
  findSchedule,
  listEvents,
  listPricedSeats,
  listShowsWithSales,
  reservedSeatIds,
} from '../repositories/catalog.repository.js'
import { findPurchaseLimits } from '../repositories/events.repository.js'
import type { Event, Schedule } from '../schemas.js'
import { seatMapBody } from '../seat-map-body.js'
import { earliestLocalDate, type ShowTime, showStartsAt } from '../show-time.js'
import { TtlCache } from '../ttl-cache.js'

export interface ScheduleFacts extends ShowTime {
  id: number
  eventId: number
  venueId: number
}

export interface PurchaseLimits {
  maxSeatsPerOrder: number
  maxSeatsPerAccount: number
}

export interface CatalogCacheSettings {
  /** How long schedules, events and priced seat layouts stay cached in process. */
  catalogCacheMs: number
  /**
   * Longest time a cached answer (seat map, dates, events list) may be served without
   * a change reaching it (0: no answer cache). Changes made through this API reach every
   * copy at once; this bounds what a lost version rewrite can leave stale.
   */
  seatMapCacheMs: number
}

/**
 * SPEC §7: a show is listed and sellable until it starts, judged in its venue's time
 * zone: at 08:00 in Seoul last night's Seoul show is over, and a 19:00 show stops
 * selling at 19:00 local time.
 */
export function isOnSale(schedule: ShowTime, now: Date = new Date()): boolean {
  return now.getTime() < showStartsAt(schedule).getTime()
}

/** The versions a dates list depends on, and a seat map's (read with the token by the routes). */
export const DATES_FIELDS = [VERSION_FIELDS.event, VERSION_FIELDS.sales] as const
export const seatMapFields = (scheduleId: number) =>
  [VERSION_FIELDS.event, VERSION_FIELDS.show(scheduleId)] as const

type EventFacts = NonNullable<Awaited<ReturnType<typeof findEvent>>>
type PricedSeats = Awaited<ReturnType<typeof listPricedSeats>>

/** The versions a sale or a refund of seats of these shows changes: the event's sales and each show's. */
function saleFields(scheduleIds: readonly number[]): string[] {
  return [VERSION_FIELDS.sales, ...scheduleIds.map(VERSION_FIELDS.show)]
}

/**
 * The catalogue and the seat map, the hottest read path of an on-sale.
 *
 * Answers (events list, dates of an event, seat maps) are kept in process as the
 * bytes sent, under versions read from Redis on every request (catalog-cache.ts):
 * a sale, a refund or an operator's write rewrites them after its commit, so the
 * next request to any copy is answered afresh; each answer also lives at most
 * `seatMapCacheMs` (and `catalogCacheMs`). Schedules, events and priced layouts
 * (facts operators change rarely) are cached for `catalogCacheMs` under the same
 * versions where an answer depends on them; misses are not cached.
 */
export class CatalogService {
  private readonly schedules: TtlCache<number, ScheduleFacts>
  private readonly events: TtlCache<number, EventFacts>
  private readonly layouts: TtlCache<string, PricedSeats>
  private readonly limits: TtlCache<number, PurchaseLimits>
  /** The limits a seat map shows, by event and event version (as layouts): an operator's change is on the next map. */
  private readonly limitsShown: TtlCache<string, PurchaseLimits>
  /** Ids of the seats an event sells at a venue: a filter for orders, never the price source. */
  private readonly sellable: TtlCache<string, Set<number>>
  private readonly startsAt: TtlCache<string, number>
  private readonly seatMaps: VersionedCache<number, CachedBody>
  private readonly dates: VersionedCache<number, CachedBody>
  private readonly eventList: VersionedCache<string, CachedBody>
  private readonly versions: CatalogVersions

  constructor(
    private readonly db: Kysely<Database>,
    redis: RedisClient,
    prefix: string,
    cache: CatalogCacheSettings,
    private readonly log?: FastifyBaseLogger,
  ) {
    this.schedules = new TtlCache(cache.catalogCacheMs)
    this.events = new TtlCache(cache.catalogCacheMs)
    this.layouts = new TtlCache(cache.catalogCacheMs)
    this.limits = new TtlCache(cache.catalogCacheMs)
    this.limitsShown = new TtlCache(cache.catalogCacheMs)
    this.sellable = new TtlCache(cache.catalogCacheMs)
    // A show's start instant follows from its date, time and zone alone, none of which change.
    this.startsAt = new TtlCache(3_600_000, 100_000)
    // An answer holds prices and layouts too, so it lives no longer than they may.
    const answerMs = Math.min(cache.seatMapCacheMs, cache.catalogCacheMs)
    this.seatMaps = new VersionedCache(answerMs)
    this.dates = new VersionedCache(answerMs)
    this.eventList = new VersionedCache(answerMs, 1)
    this.versions = new CatalogVersions(redis, prefix)
  }

  /** Every event with a show, as sent: `GET /v1/events`. */
  async eventListBody(): Promise<CachedBody> {
    // The state at build time: an answer lives SEAT_MAP_CACHE_MS at most, so a sell-out, a
    // pause or an opening shows in the list as soon as a seat map shows a sale.
    const build = async () => {
      const now = Date.now()
      return cachedBody(
        (await listEvents(this.db)).map(
          (e): Event => ({
            id: e.id,
            title: e.title,
            venue: { id: e.venueId, name: e.venueName },
            startDate: e.startDate,
            endDate: e.endDate,
            state: saleStateAt(
              {
                opensAt: e.opensAt,
                closesAt: e.closesAt,
                preQueueMinutes: Number(e.preQueueMinutes),
                paused: Boolean(e.paused),
                soldOut: Boolean(e.soldOut),
              },
              now,
            ),
            opensAt: e.opensAt?.toISOString() ?? null,
          }),
        ),
      )
    }
    if (!this.eventList.enabled) return build()
    // A public list that never needed Redis: without it, it is read fresh rather than refused.
    const version = await this.versions.ofEventList().catch((error: unknown) => {
      this.log?.warn({ err: error }, 'events list version unreadable; answering uncached')
      return undefined
    })
    if (version === undefined) return build()
    return this.eventList.get('all', version, async () => ({ value: await build() }))
  }

  async event(eventId: number): Promise<EventFacts> {
    // A miss throws inside the loader, and failed loads are not cached.
    return this.events.get(eventId, async () => {
      const event = await findEvent(this.db, eventId)
      if (!event) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
      return event
    })
  }

  async schedule(scheduleId: number): Promise<ScheduleFacts> {
    return this.schedules.get(scheduleId, async () => {
      const schedule = await findSchedule(this.db, scheduleId)
      if (!schedule) throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} does not exist`)
      return schedule
    })
  }

  /**
   * The versions a sale of seats of these shows rewrites (the event's sales and each
   * show's), for the script that finishes the purchase to write after its commit:
   * every copy then answers those seat maps and the dates afresh.
   */
  saleChange(scheduleIds: readonly number[]): CatalogChange {
    return this.versions.change(saleFields(scheduleIds))
  }

  /**
   * After a committed refund (a sale writes the same versions in its finishing script,
   * saleChange): the seat maps of `scheduleIds` and the event's dates are answered afresh
   * by every copy from the next request on. Never throws: the sale stands either way, and
   * an answer that missed the change lapses within `seatMapCacheMs`.
   */
  async seatsChanged(scheduleIds: readonly number[], eventId?: number): Promise<void> {
    try {
      const event = eventId ?? (await this.schedule(scheduleIds[0] as number)).eventId
      await this.versions.bumpEvent(event, saleFields(scheduleIds))
    } catch (error) {
      this.log?.warn({ err: error, scheduleIds }, 'catalogue caches not told of a sale or refund')
    }
  }

  /**
   * After a committed operator write to an event, its prices or its shows: every copy
   * answers its seat maps, dates and the events list afresh; a removed show is gone at
   * once on this copy (the others find out when they rebuild its seat map).
   */
  async catalogueChanged(eventId: number, removedScheduleId?: number): Promise<void> {
    if (removedScheduleId !== undefined) this.schedules.delete(removedScheduleId)
    this.events.delete(eventId)
    this.limits.delete(eventId)
    try {
      await Promise.all([
        this.versions.bumpEvent(eventId, [VERSION_FIELDS.event, VERSION_FIELDS.sales]),
        this.versions.bumpEventList(),
      ])
    } catch (error) {
      this.log?.warn({ err: error, eventId }, 'catalogue caches not told of an operator change')
    }
  }

  /** Start of a show in ms since the epoch (luxon once per show, not per request). */
  private startOf(show: ShowTime): Promise<number> {
    return this.startsAt.get(`${show.date}T${show.startTime} ${show.timeZone}`, async () =>
      showStartsAt(show).getTime(),
    )
  }

  /** The event's shows from `now` on, with their start and live sales, read fresh. */
  private async showsWithSales(event: EventFacts, now: Date, db: DbExecutor = this.db) {
    const rows = await listShowsWithSales(db, event.id, earliestLocalDate(now))
    return Promise.all(
      rows.map(async (row) => ({
        ...row,
        seatsSold: Number(row.seatsSold),
        startsAt: await this.startOf({ ...row, timeZone: event.timeZone }),
      })),
    )
  }

  /** Shows still on sale with a free seat, as sent: `GET /v1/events/{eventId}/schedules`. */
  async datesBody(eventId: number, read?: CatalogVersionsRead): Promise<CachedBody> {
    const event = await this.event(eventId)
    const version = this.dates.enabled ? await this.versions.ofEvent(eventId, DATES_FIELDS, read) : ''
    return this.dates.get(eventId, version, async () => {
      const now = new Date()
      const totalSeats = Number(event.totalSeats)
      const listed = (await this.showsWithSales(event, now)).filter(
        (show) => show.startsAt > now.getTime() && show.seatsSold < totalSeats,
      )
      const schedules: Schedule[] = listed.map((show) => ({
        scheduleId: show.scheduleId,
        date: show.date,
        startTime: show.startTime,
        endTime: show.endTime,
        totalSeats,
        availableSeats: totalSeats - show.seatsSold,
      }))
      // The first listed show to start leaves the list then: the answer lapses with it.
      return { value: cachedBody(schedules), expiresAt: Math.min(...listed.map((show) => show.startsAt)) }
    })
  }

  /** Seats of the event's shows still on sale (not started in their venue's zone): all, and sold. Read fresh. */
  async seatsOnSale(
    eventId: number,
    now: Date = new Date(),
    db: DbExecutor = this.db,
  ): Promise<{ total: number; sold: number }> {
    const event = await this.event(eventId)
    let total = 0
    let sold = 0
    for (const show of await this.showsWithSales(event, now, db)) {
      if (show.startsAt <= now.getTime()) continue
      total += Number(event.totalSeats)
      sold += show.seatsSold
    }
    return { total, sold }
  }

  /** Every seat of the show with its price and status, as sent: `GET /v1/schedules/{scheduleId}/seats`. */
  async seatMapBody(scheduleId: number, read?: CatalogVersionsRead): Promise<CachedBody> {
    const { eventId } = await this.schedule(scheduleId)
    const versions = this.seatMaps.enabled
      ? await this.versions.ofEvent(eventId, seatMapFields(scheduleId), read)
      : ''
    const loadMap = async (versions: string) => {
      // Read again, not from the schedule cache: the show may have been removed since.
      const schedule = await findSchedule(this.db, scheduleId)
      if (!schedule) {
        this.schedules.delete(scheduleId)
        throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} does not exist`)
      }
      const eventVersion = versions.split('|')[0]
      const [seats, limits, sold] = await Promise.all([
        this.layouts.get(`${schedule.eventId}:${schedule.venueId}:${eventVersion}`, () =>
          listPricedSeats(this.db, schedule.eventId, schedule.venueId),
        ),
        // Keyed by the event's version, not by event alone (cachedPurchaseLimits): a PATCH of the
        // limits on another copy rewrites that version, and only the copy that took it drops `limits`.
        this.limitsShown.get(`${schedule.eventId}:${eventVersion}`, () =>
          this.purchaseLimits(schedule.eventId),
        ),
        reservedSeatIds(this.db, scheduleId).then((ids) => new Set(ids)),
      ])
      const body = seatMapBody(
        {
          scheduleId,
          eventId: schedule.eventId,
          date: schedule.date,
          startTime: schedule.startTime,
          maxSeatsPerOrder: limits.maxSeatsPerOrder,
        },
        seats,
        sold,
      )
      return { value: body }
    }
    // A load after a running one is built under the versions as they are when it starts.
    return this.seatMaps.get(scheduleId, versions, loadMap, () =>
      this.versions.ofEvent(eventId, seatMapFields(scheduleId)),
    )
  }

  /**
   * Seats of the schedule's venue with their current prices, by ascending id, read fresh:
   * the price paid is never a cached one. A show that has started (in its venue's zone)
   * sells nothing; seats that are not the venue's (or have no price) are named in the 404.
   */
  async seatsForSale(schedule: ScheduleFacts, seatIds: readonly number[], now: Date = new Date()) {
    if (!isOnSale(schedule, now)) {
      throw new AppError(
        'SCHEDULE_NOT_FOUND',
        `schedule ${schedule.id} started at ${schedule.date} ${schedule.startTime} (${schedule.timeZone}); ` +
          'it is not on sale',
      )
    }
    const seats = await findPricedSeats(this.db, schedule.eventId, schedule.venueId, seatIds)
    if (seats.length !== seatIds.length) {
      const found = new Set(seats.map((seat) => seat.seatId))
      const missing = seatIds.filter((id) => !found.has(id)).sort((a, b) => a - b)
      throw new AppError(
        'SEAT_NOT_FOUND',
        `seat${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not for sale at schedule ${schedule.id}`,
        { extensions: { seatIds: missing } },
      )
    }
    return seats
  }

  /**
   * Whether the seats look sellable from this copy's cached layout (the show not started,
   * every seat the venue's, with a price). false only says "check fresh": seatsForSale then
   * gives the precise 404, or finds that the cache was behind.
   */
  async mayBeForSale(
    schedule: ScheduleFacts,
    seatIds: readonly number[],
    now: Date = new Date(),
  ): Promise<boolean> {
    if (!isOnSale(schedule, now)) return false
    const known = await this.sellable.get(`${schedule.eventId}:${schedule.venueId}`, async () => {
      const seats = await listPricedSeats(this.db, schedule.eventId, schedule.venueId)
      return new Set(seats.map((seat) => seat.seatId))
    })
    return seatIds.every((id) => known.has(id))
  }

  /**
   * Whether a purchase's checks of its request (the show, the order limit, the seats the
   * event sells) would all be answered from this copy's caches, with no query.
   */
  async purchaseChecksCached(scheduleId: number): Promise<boolean> {
    if (!this.schedules.has(scheduleId)) return false
    const schedule = await this.schedule(scheduleId).catch(() => undefined)
    if (!schedule) return false
    return this.limits.has(schedule.eventId) && this.sellable.has(`${schedule.eventId}:${schedule.venueId}`)
  }

  /** The event's limits per order and per account, read fresh (an operator may just have changed them). */
  async purchaseLimits(eventId: number): Promise<PurchaseLimits> {
    const limits = await findPurchaseLimits(this.db, eventId)
    if (!limits) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
    return limits
  }

  /**
   * The limits as last read on this copy (up to catalogCacheMs old): good for refusing an
   * order early, before any lock is taken, once purchaseLimits has confirmed the refusal.
   */
  cachedPurchaseLimits(eventId: number): Promise<PurchaseLimits> {
    return this.limits.get(eventId, () => this.purchaseLimits(eventId))
  }
}
