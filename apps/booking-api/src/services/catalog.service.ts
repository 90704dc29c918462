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
import { TtlCache } from '../ttl-cache.js'

export interface ScheduleFacts {
  id: number
  eventId: number
  venueId: number
  date: string
  startTime: string
}

export type SeatStatus = 'AVAILABLE' | 'RESERVED'

/** 'YYYY-MM-DD' of today in UTC, the service's calendar. */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10)
}

/**
 * The catalogue and the seat map, the hottest read path of an on-sale.
 * Schedules and priced seat layouts are cached in process for a minute
 * (they change by deployment, not by sale); the set of sold seats is cached
 * in Redis for at most `seatMapCacheMs`, and dropped the moment a seat sells,
 * so a sold seat shows as free on any copy for at most that long.
 */
export class CatalogService {
  private readonly schedules = new TtlCache<number, ScheduleFacts | undefined>(60_000)
  private readonly events = new TtlCache<number, { id: number; venue_id: number } | undefined>(60_000)
  private readonly layouts = new TtlCache<string, Awaited<ReturnType<typeof listPricedSeats>>>(60_000)

  constructor(
    private readonly db: Kysely<Database>,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly seatMapCacheMs: number,
  ) {}

  listEvents() {
    return listEvents(this.db)
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

  async bookableSchedules(eventId: number) {
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

  async seatMap(scheduleId: number) {
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
        status: (sold.has(seat.seatId) ? 'RESERVED' : 'AVAILABLE') as SeatStatus,
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
