import type { Database } from '@concert/db'
import type { RedisClient } from '@concert/queue'
import { scheduleKeys } from '@concert/queue'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import {
  findEvent,
  findPricedSeats,
  findSchedule,
  listBookableSchedules,
  listEvents,
  listPricedSeats,
  reservedSeatIds,
} from '../repositories/catalog.repository.js'
import { findPurchaseLimits } from '../repositories/events.repository.js'
import type { Event, Schedule, SeatMap } from '../schemas.js'
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
  /** Longest time the Redis copy of a schedule's sold seats may be used (0: no cache). */
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

/**
 * The catalogue and the seat map, the hottest read path of an on-sale.
 * Schedules and priced seat layouts are cached in process for `catalogCacheMs`
 * (operators change them rarely; this copy forgets them at once when its admin
 * API changes them, other copies within that time; misses are not cached, so a
 * new show is seen at once); the set of sold seats is cached in Redis for at
 * most `seatMapCacheMs`, and dropped the moment a seat sells, so a sold seat
 * shows as free on any copy for at most that long.
 */
export class CatalogService {
  private readonly schedules: TtlCache<number, ScheduleFacts>
  private readonly events: TtlCache<number, { id: number; venue_id: number }>
  private readonly layouts: TtlCache<string, Awaited<ReturnType<typeof listPricedSeats>>>
  private readonly limits: TtlCache<number, PurchaseLimits>
  private readonly seatMapCacheMs: number

  constructor(
    private readonly db: Kysely<Database>,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    cache: CatalogCacheSettings,
  ) {
    this.schedules = new TtlCache(cache.catalogCacheMs)
    this.events = new TtlCache(cache.catalogCacheMs)
    this.layouts = new TtlCache(cache.catalogCacheMs)
    this.limits = new TtlCache(cache.catalogCacheMs)
    this.seatMapCacheMs = cache.seatMapCacheMs
  }

  async listEvents(): Promise<Event[]> {
    return (await listEvents(this.db)).map((e) => ({
      id: e.id,
      title: e.title,
      venue: { id: e.venueId, name: e.venueName },
      startDate: e.startDate,
      endDate: e.endDate,
    }))
  }

  async event(eventId: number) {
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

  /** After an admin change on this copy: a removed show is gone at once. */
  forgetSchedule(scheduleId: number): void {
    this.schedules.delete(scheduleId)
  }

  /** After an admin change on this copy: seat maps show the new prices (and orders the new limits) at once. */
  forgetPrices(eventId: number, venueId: number): void {
    this.layouts.delete(`${eventId}:${venueId}`)
    this.limits.delete(eventId)
  }

  async bookableSchedules(eventId: number, now: Date = new Date()): Promise<Schedule[]> {
    await this.event(eventId)
    const rows = await listBookableSchedules(this.db, eventId, earliestLocalDate(now))
    return rows
      .filter((row) => isOnSale(row, now))
      .map((row) => ({
        scheduleId: row.scheduleId,
        date: row.date,
        startTime: row.startTime,
        endTime: row.endTime,
        totalSeats: Number(row.totalSeats),
        availableSeats: Number(row.totalSeats) - Number(row.reservedSeats),
      }))
      .filter((row) => row.availableSeats > 0)
  }

  /** Seats of the event's shows still on sale (not started in their venue's zone): all, and sold. */
  async seatsOnSale(eventId: number, now: Date = new Date()): Promise<{ total: number; sold: number }> {
    const rows = await listBookableSchedules(this.db, eventId, earliestLocalDate(now))
    let total = 0
    let sold = 0
    for (const row of rows) {
      if (!isOnSale(row, now)) continue
      total += Number(row.totalSeats)
      sold += Number(row.reservedSeats)
    }
    return { total, sold }
  }

  private pricedSeats(schedule: ScheduleFacts) {
    return this.layouts.get(`${schedule.eventId}:${schedule.venueId}`, () =>
      listPricedSeats(this.db, schedule.eventId, schedule.venueId),
    )
  }

  /** Ids of the schedule's sold (not refunded) seats: from Redis when fresh, else from MySQL (then cached). */
  async soldSeats(scheduleId: number): Promise<Set<number>> {
    const key = scheduleKeys(this.prefix, scheduleId).seatMap
    if (this.seatMapCacheMs > 0) {
      const cached = await this.redis.get(key)
      if (cached !== null) return new Set(JSON.parse(cached) as number[])
    }
    const sold = await reservedSeatIds(this.db, scheduleId)
    if (this.seatMapCacheMs > 0) await this.redis.set(key, JSON.stringify(sold), 'PX', this.seatMapCacheMs)
    return new Set(sold)
  }

  async invalidateSeatMap(scheduleId: number): Promise<void> {
    await this.redis.del(scheduleKeys(this.prefix, scheduleId).seatMap)
  }

  async seatMap(scheduleId: number): Promise<SeatMap> {
    const schedule = await this.schedule(scheduleId)
    const [seats, sold] = await Promise.all([this.pricedSeats(schedule), this.soldSeats(scheduleId)])
    return {
      scheduleId,
      eventId: schedule.eventId,
      date: schedule.date,
      startTime: schedule.startTime,
      seats: seats.map((seat) => ({
        seatId: seat.seatId,
        seatNumber: seat.seatNumber,
        area: seat.area,
        seatType: seat.seatType,
        price: seat.price,
        status: sold.has(seat.seatId) ? 'RESERVED' : 'AVAILABLE',
      })),
    }
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
    const known = new Set((await this.pricedSeats(schedule)).map((seat) => seat.seatId))
    return seatIds.every((id) => known.has(id))
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
