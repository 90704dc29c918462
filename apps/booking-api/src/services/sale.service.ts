import type { Database } from '@concert/db'
import {
  countTokenOutcomes,
  type QueueService,
  queueFigures,
  type RedisClient,
  recountSoldOut,
  refreshSaleSettings,
} from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { QueueSettingsBody, QueueStatusView } from '../admin-schemas.js'
import { type AuditEntry, insertAudit } from '../repositories/admin-audit.repository.js'
import { findFreeSeat } from '../repositories/catalog.repository.js'
import { lockEvent, updateEvent } from '../repositories/events.repository.js'
import { soldSeatIdsAmong } from '../repositories/reservations.repository.js'
import type { CatalogService } from './catalog.service.js'

/**
 * The operator's side of a sale (SPEC §7, §8): what the queue must know of an
 * event reaches Redis the moment MySQL has it (every gateway copy applies it at
 * its next tick, well within a second), the event is marked SOLD_OUT when its
 * last seat on sale goes (and OPEN again when a refund puts one back), and the
 * live figures an operator watches.
 */
export class SaleService {
  /** Per show, the free seat this copy's last check found: the next check starts there. */
  private readonly freeSeatSeen = new LRUCache<number, string>({ max: 10_000 })

  constructor(
    private readonly deps: {
      db: Kysely<Database>
      redis: RedisClient
      queue: QueueService
      catalog: CatalogService
      log: FastifyBaseLogger
    },
  ) {}

  /** Copies the event's sale settings from MySQL to the queue. */
  async publish(eventId: number): Promise<void> {
    await refreshSaleSettings(this.deps.db, this.deps.redis, this.deps.queue.keys(eventId))
  }

  /**
   * After a refund committed (or was replayed: its first attempt may have died before
   * this): the seat loses its SOLD marker in Redis while it is still free (a replay much
   * later must not clear the marker of the seat's next buyer), and the event is recounted.
   */
  async afterRefund(eventId: number, refund: { scheduleId: number; seatId: number }): Promise<void> {
    try {
      await this.releaseUnsold(eventId, refund.scheduleId, [refund.seatId])
    } catch (error) {
      this.deps.log.error({ err: error, eventId }, 'SOLD marker not released')
    }
    await this.refreshSoldOut(eventId)
  }

  /**
   * Takes the SOLD marker off those of the seats that no live reservation holds: read
   * after the marker was set, so that of a refund's release and a late marking (a sale
   * finished in Redis long after its COMMIT), whichever checks last sees the other's
   * write. Throws when MySQL or Redis fails.
   */
  async releaseUnsold(eventId: number, scheduleId: number, seatIds: readonly number[]): Promise<void> {
    const sold = new Set(await soldSeatIdsAmong(this.deps.db, scheduleId, seatIds))
    const unsold = seatIds.filter((seatId) => !sold.has(seatId))
    if (unsold.length > 0) await this.deps.queue.releaseSeats(eventId, scheduleId, unsold)
  }

  /**
   * After a sale of seats of this show: the event's recount runs only once the show has no
   * free seat. Only a show left with none can have sold its event out, so a probe that stops
   * at the first free seat spares the whole event's recount on every other sale; it starts
   * at the free seat this copy found last (findFreeSeat), so it stays as cheap at the
   * 3,000th seat of a show as at the first.
   */
  async afterSale(eventId: number, scheduleId: number): Promise<void> {
    try {
      const free = await findFreeSeat(this.deps.db, scheduleId, this.freeSeatSeen.get(scheduleId))
      if (free !== undefined) {
        this.freeSeatSeen.set(scheduleId, free)
        return
      }
      this.freeSeatSeen.delete(scheduleId)
    } catch (error) {
      this.deps.log.error({ err: error, eventId }, 'could not check the show for free seats')
      return
    }
    await this.refreshSoldOut(eventId)
  }

  /**
   * After a sale or a refund: sold out exactly when no seat of an on-sale show is
   * left, counted one recount at a time per event (recountSoldOut: copies selling the
   * last seat and refunding one at once end with the flag of the seats, not of whichever
   * wrote last). Best effort after a committed sale or refund (it stands either way): a
   * flag that did not reach Redis is set by the next recount, by a replayed refund, or
   * by recovery, which restores it from MySQL.
   */
  async refreshSoldOut(eventId: number): Promise<void> {
    try {
      // The event's facts cached first: the count inside the lock then needs no second connection.
      await this.deps.catalog.event(eventId)
      const toldSoldOut = await recountSoldOut(
        this.deps.db,
        this.deps.redis,
        this.deps.queue.keys(eventId),
        async (trx) => {
          const seats = await this.deps.catalog.seatsOnSale(eventId, new Date(), trx)
          return seats.total > 0 && seats.sold >= seats.total
        },
      )
      // The copy that told the queue the last seat went runs one admission tick itself: it ends
      // the first batch of WAITING tickets (SOLD_OUT) now rather than at a gateway's next tick.
      if (toldSoldOut) await this.deps.queue.admit(eventId)
    } catch (error) {
      this.deps.log.error({ err: error, eventId }, 'could not update the sold-out state')
    }
  }

  /** PATCH /v1/admin/events/{id}/queue: changes admission live (null: back to the default). */
  async updateQueue(eventId: number, body: QueueSettingsBody, audit: AuditEntry): Promise<QueueStatusView> {
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await lockEvent(trx, eventId)))
        throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
      await updateEvent(trx, eventId, {
        ...(body.maxActive !== undefined ? { max_active: body.maxActive } : {}),
        ...(body.admitPerSecond !== undefined ? { admit_per_second: body.admitPerSecond } : {}),
        ...(body.activeTtlSeconds !== undefined ? { active_ttl_seconds: body.activeTtlSeconds } : {}),
        ...(body.waitingIdleSeconds !== undefined ? { waiting_idle_seconds: body.waitingIdleSeconds } : {}),
        ...(body.paused !== undefined ? { paused: body.paused ? 1 : 0 } : {}),
      })
      await insertAudit(trx, audit, eventId)
    })
    await this.publish(eventId)
    return this.status(eventId)
  }

  /**
   * GET /v1/admin/events/{id}/queue: the live figures (SPEC §7). The queue's part (state,
   * the settings the admission script applies, live counts, totals) is queueFigures(),
   * which the gateway's per-event metrics read too; the seats are the catalogue's.
   */
  async status(eventId: number): Promise<QueueStatusView> {
    const { db, queue, catalog } = this.deps
    const [figures, seats] = await Promise.all([
      queueFigures(queue, eventId, (id) => countTokenOutcomes(db, id)),
      catalog.seatsOnSale(eventId),
    ])
    if (!figures) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
    return {
      ...figures,
      // Whole seconds here (the schema's Count); the metric keeps the fraction.
      oldestWaiterSeconds: Math.floor(figures.oldestWaiterSeconds),
      seatsTotal: seats.total,
      seatsSold: seats.sold,
      seatsLeft: Math.max(0, seats.total - seats.sold),
    }
  }
}
