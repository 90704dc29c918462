import { randomUUID } from 'node:crypto'
import { type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import {
  lockTokenAndCheckPaid,
  markTokenCompleted,
  type QueueService,
  type RedisClient,
  scheduleKeys,
  type TokenState,
  withLock,
} from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { VerifiedToken } from '../plugins/token-guard.js'
import { balanceOf, deductFromBalance } from '../repositories/accounts.repository.js'
import { insertHistory } from '../repositories/balance-history.repository.js'
import {
  findReservationView,
  insertReservation,
  isSeatReserved,
} from '../repositories/reservations.repository.js'
import type { Reservation } from '../schemas.js'
import type { CatalogService } from './catalog.service.js'
import { replayByIdempotencyKey } from './idempotency.js'
import type { SaleService } from './sale.service.js'

export interface ReserveRequest {
  token: VerifiedToken
  scheduleId: number
  seatId: number
  idempotencyKey?: string | undefined
}

class IdempotentRace extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reserve-and-pay, in the seed document's order:
 * token → seat lock → seat free? → balance? → one transaction (reservation,
 * guarded debit, PAYMENT row, QUEUE_TOKEN COMPLETED) → commit → expire the
 * token in Redis → release the lock.
 *
 * Before the seat lock the request claims its token in Redis, so a READY token
 * pays at most once even when a fan fires many requests at once; the others
 * wait for that payment and then see the token spent (or replay its answer).
 */
export class ReservationService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>
      redis: RedisClient
      queue: QueueService
      catalog: CatalogService
      sale: SaleService
      prefix: string
      seatLockTtlMs: number
      claimTtlMs: number
      claimWaitMs: number
      log: FastifyBaseLogger
    },
  ) {}

  async reserve(request: ReserveRequest): Promise<Reservation & { replayed: boolean }> {
    const { token, scheduleId, seatId, idempotencyKey } = request
    const accountId = token.state.accountId
    if (idempotencyKey) {
      const replay = await this.replay(accountId, idempotencyKey, scheduleId, seatId)
      if (replay) return { ...replay, replayed: true }
    }
    if (token.completed) throw new AppError('TOKEN_EXPIRED', 'queue token expired (COMPLETED)')

    const schedule = await this.deps.catalog.schedule(scheduleId)
    // Refuses a show that has started in its venue's zone (SCHEDULE_NOT_FOUND) and unknown seats.
    const seat = await this.deps.catalog.seatForSale(schedule, seatId)
    const owner = randomUUID()

    let claimed: TokenState
    try {
      claimed = await this.claim(token.token, owner)
    } catch (error) {
      // The token was spent by a parallel request; with the same key, that request's answer is ours.
      if (idempotencyKey && error instanceof AppError && error.code === 'TOKEN_EXPIRED') {
        const replay = await this.replay(accountId, idempotencyKey, scheduleId, seatId)
        if (replay) return { ...replay, replayed: true }
      }
      throw error
    }

    let completed = false
    // The claim is kept alive while this payment runs; if this process dies it lapses
    // within claimTtlMs and the fan's retry (on any copy) can claim the token again.
    const keepAlive = setInterval(
      () => void this.deps.queue.claim(token.token, owner, this.deps.claimTtlMs).catch(() => undefined),
      Math.max(10, Math.floor(this.deps.claimTtlMs / 3)),
    )
    keepAlive.unref()
    try {
      const result = await this.withSeatLock(scheduleId, seatId, owner, async () => {
        if (await isSeatReserved(this.deps.db, scheduleId, seatId)) {
          throw new AppError('SEAT_ALREADY_RESERVED', `seat ${seat.seatNumber} is already reserved`)
        }
        const balance = await balanceOf(this.deps.db, accountId)
        if (balance === undefined)
          throw new AppError('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`)
        if (balance < seat.price) {
          throw new AppError(
            'INSUFFICIENT_BALANCE',
            `the seat costs ${seat.price} won, the balance is ${balance}`,
          )
        }
        const completedAt = new Date()
        const paid = await this.pay({
          accountId,
          scheduleId,
          seatId,
          price: seat.price,
          claimed,
          completedAt,
          idempotencyKey,
        })
        completed = true
        await this.afterCommit(token.token, owner, completedAt, schedule)
        return {
          reservationId: paid.reservationId,
          accountId,
          scheduleId,
          seatId,
          seatNumber: seat.seatNumber,
          price: seat.price,
          balance: paid.balanceAfter,
          reservedAt: completedAt.toISOString(),
        }
      })
      return { ...result, replayed: false }
    } catch (error) {
      if (error instanceof IdempotentRace && idempotencyKey) {
        const replay = await this.replay(accountId, idempotencyKey, scheduleId, seatId)
        if (replay) return { ...replay, replayed: true }
      }
      throw error
    } finally {
      clearInterval(keepAlive)
      // A failed attempt leaves the token READY for the next try.
      if (!completed) await this.deps.queue.releaseClaim(token.token, owner).catch(() => false)
    }
  }

  /** The transaction: every write of a sale commits together or not at all. */
  private async pay(sale: {
    accountId: string
    scheduleId: number
    seatId: number
    price: number
    claimed: TokenState
    completedAt: Date
    idempotencyKey?: string | undefined
  }): Promise<{ reservationId: number; balanceAfter: number }> {
    try {
      // READ COMMITTED: no gap locks, so payments for tokens whose QUEUE_TOKEN row the
      // mirror has not written yet cannot deadlock on the missing rows; a deadlock that
      // still happens (InnoDB undid the whole transaction) is simply run again.
      return await retryOnDeadlock(() =>
        this.deps.db
          .transaction()
          .setIsolationLevel('read committed')
          .execute(async (trx) => {
            // The account row first: every money-moving transaction locks it before anything else.
            if (!(await deductFromBalance(trx, sale.accountId, sale.price))) {
              throw new AppError('INSUFFICIENT_BALANCE', `the seat costs ${sale.price} won`)
            }
            if (await lockTokenAndCheckPaid(trx, sale.claimed.token)) {
              throw new AppError('TOKEN_EXPIRED', 'queue token expired (COMPLETED)')
            }
            let reservationId: number
            try {
              reservationId = await insertReservation(trx, { ...sale, reservedAt: sale.completedAt })
            } catch (error) {
              if (isDuplicateKey(error))
                throw new AppError('SEAT_ALREADY_RESERVED', 'the seat was just reserved')
              throw error
            }
            const balanceAfter = (await balanceOf(trx, sale.accountId)) ?? 0
            try {
              await insertHistory(trx, {
                accountId: sale.accountId,
                amount: -sale.price,
                type: 'PAYMENT',
                reservationId,
                idempotencyKey: sale.idempotencyKey ?? null,
                balanceAfter,
              })
            } catch (error) {
              if (isDuplicateKey(error)) throw new IdempotentRace()
              throw error
            }
            await markTokenCompleted(trx, sale.claimed, sale.completedAt)
            return { reservationId, balanceAfter }
          }),
      )
    } catch (error) {
      // Belt and braces: the UNIQUE(schedule_id, seat_id) key must never surface as a 500.
      if (isDuplicateKey(error) && !(error instanceof AppError)) {
        throw new AppError('SEAT_ALREADY_RESERVED', 'the seat was just reserved')
      }
      throw error
    }
  }

  /** Post-commit bookkeeping; the sale is final, so failures here are logged, not returned. */
  private async afterCommit(
    token: string,
    owner: string,
    completedAt: Date,
    schedule: { id: number; eventId: number },
  ): Promise<void> {
    try {
      await this.deps.queue.complete(token, owner, completedAt)
    } catch (error) {
      // QUEUE_TOKEN already says COMPLETED, which stops any second payment.
      this.deps.log.error({ err: error, token }, 'could not expire a paid token in Redis')
    }
    await this.deps.catalog
      .invalidateSeatMap(schedule.id)
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'seat map cache not invalidated'))
    // The last seat on sale: the queue ends its waiters and stops taking joins (SPEC §8).
    await this.deps.sale.refreshSoldOut(schedule.eventId)
  }

  private async claim(token: string, owner: string): Promise<TokenState> {
    const deadline = Date.now() + this.deps.claimWaitMs
    for (;;) {
      const result = await this.deps.queue.claim(token, owner, this.deps.claimTtlMs)
      if (result.ok) return result.state
      switch (result.reason) {
        case 'MISSING':
          throw new AppError('TOKEN_INVALID', 'unknown queue token')
        case 'NOT_READY':
          throw new AppError('TOKEN_NOT_READY', 'still waiting in the queue')
        case 'EXPIRED':
          throw new AppError('TOKEN_EXPIRED', 'queue token expired')
        case 'BUSY':
          if (Date.now() > deadline) {
            throw new AppError('TOKEN_BUSY', 'another payment with this queue token is still running', {
              retryAfter: 1,
            })
          }
          await sleep(15)
      }
    }
  }

  /** Seat lock (packages/queue withLock): a fast-fail filter; UNIQUE(schedule_id, seat_id) is the guarantee. */
  private async withSeatLock<T>(scheduleId: number, seatId: number, owner: string, work: () => Promise<T>) {
    const key = scheduleKeys(this.deps.prefix, scheduleId).seatLock(seatId)
    const outcome = await withLock(this.deps.redis, key, owner, this.deps.seatLockTtlMs, work)
    if (!outcome.locked) throw new AppError('SEAT_LOCKED', 'another user is reserving this seat right now')
    return outcome.value
  }

  /** The first answer given for this Idempotency-Key, if it was a reservation of this seat. */
  private replay(
    accountId: string,
    key: string,
    scheduleId: number,
    seatId: number,
  ): Promise<Reservation | undefined> {
    return replayByIdempotencyKey(this.deps.db, accountId, key, async (row) => {
      const reservation =
        row.type === 'PAYMENT' && row.reservation_id !== null
          ? await findReservationView(this.deps.db, row.reservation_id)
          : undefined
      if (!reservation || reservation.scheduleId !== scheduleId || reservation.seatId !== seatId) {
        return undefined
      }
      return {
        reservationId: reservation.reservationId,
        accountId,
        scheduleId,
        seatId,
        seatNumber: reservation.seatNumber,
        price: reservation.price,
        balance: row.balance_after,
        reservedAt: reservation.reservedAt.toISOString(),
      }
    })
  }
}
