import type { Database } from '@concert/db'
import type { RedisClient } from '@concert/queue'
import { scheduleKeys } from '@concert/queue'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import {
  findEvent,
  findPricedSeat,
  findSchedule,
  listBookableSchedules,
  listEvents,
  listPricedSeats,
  reservedSeatIds,
} from '../repositories/catalog.repository.js'
import type { Event, Schedule, SeatMap } from '../schemas.js'
import { TtlCache } from '../ttl-cache.js'

export interface ScheduleFacts {
  id: number
  eventId: number
  venueId: number
  date: string
  startTime: string
}

/** 'YYYY-MM-DD' of today in UTC, the service's calendar. */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10)
}

export interface CatalogCacheSettings {
  /** How long schedules, events and priced seat layouts stay cached in process. */
  catalogCacheMs: number
  /** Longest time the Redis copy of a schedule's sold seats may be used (0: no cache). */
  seatMapCacheMs: number
}

/**
 * The catalogue and the seat map, the hottest read path of an on-sale.
 * Schedules and priced seat layouts are cached in process for `catalogCacheMs`
 * (they change by deployment, not by sale); the set of sold seats is cached
 * in Redis for at most `seatMapCacheMs`, and dropped the moment a seat sells,
 * so a sold seat shows as free on any copy for at most that long.
 */
export class CatalogService {
  private readonly schedules: TtlCache<number, ScheduleFacts | undefined>
  private readonly events: TtlCache<number, { id: number; venue_id: number } | undefined>
  private readonly layouts: TtlCache<string, Awaited<ReturnType<typeof listPricedSeats>>>
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
    const event = await this.events.get(eventId, () => findEvent(this.db, eventId))
    if (!event) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
    return event
  }

  async schedule(scheduleId: number): Promise<ScheduleFacts> {
    const schedule = await this.schedules.get(scheduleId, () => findSchedule(this.db, scheduleId))
    if (!schedule) throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} does not exist`)
    return schedule
  }

  async bookableSchedules(eventId: number): Promise<Schedule[]> {
    await this.event(eventId)
    const rows = await listBookableSchedules(this.db, eventId, todayUtc())
    return rows
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

  private pricedSeats(schedule: ScheduleFacts) {
    return this.layouts.get(`${schedule.eventId}:${schedule.venueId}`, () =>
      listPricedSeats(this.db, schedule.eventId, schedule.venueId),
    )
  }

  /** Ids of the schedule's sold seats: from Redis when fresh, else from MySQL (then cached). */
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

  /** A seat of the schedule's venue with its current price, read fresh: the price paid is never a cached one. */
  async seatForSale(schedule: ScheduleFacts, seatId: number) {
    const seat = await findPricedSeat(this.db, schedule.eventId, schedule.venueId, seatId)
    if (!seat)
      throw new AppError('SEAT_NOT_FOUND', `seat ${seatId} is not for sale at schedule ${schedule.id}`)
    return seat
  }
}
