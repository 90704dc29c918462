import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import {
  completedVersion,
  eventOfToken,
  markTokenCompleted,
  type PurchaseSeats,
  paymentCommitted,
  type QueueService,
  type RedisClient,
  type TokenState,
} from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely, Transaction } from 'kysely'
import type { Registry } from 'prom-client'
import { paidByMysql } from '../paid-tokens.js'
import type { QueueTokenCheck, VerifiedToken } from '../plugins/token-guard.js'
import { balanceOf, deductFromBalance } from '../repositories/accounts.repository.js'
import { findReservationRow, insertHistory } from '../repositories/balance-history.repository.js'
import { readPaymentChecks } from '../repositories/payment-checks.js'
import {
  findLiveReservation,
  findReservationView,
  insertOrder,
  listOrder,
  soldSeatIdsAmong,
} from '../repositories/reservations.repository.js'
import type { Reservation } from '../schemas.js'
import type { CatalogService } from './catalog.service.js'
import { replayByIdempotencyKey } from './idempotency.js'
import {
  answer,
  ascending,
  type OrderSeat,
  orderNotTooLarge,
  paymentRows,
  refusedToken,
  sameSeats,
  seatsTaken,
} from './order.js'
import type { SaleService } from './sale.service.js'
import { UnsettledPayments } from './unsettled-payments.js'

export interface ReserveRequest {
  /** The Bearer token, checked here (see reserve) rather than by the guard. */
  token: QueueTokenCheck
  scheduleId: number
  /** One seat (v1 `seatId`) or several (`seatIds`); the schema already refused duplicates. */
  seatIds: readonly number[]
  idempotencyKey?: string | undefined
}

class IdempotentRace extends Error {}

/** A payment attempt that holds its claim: what finishing its sale in Redis needs. */
interface ClaimedAttempt {
  token: string
  /** The claim's owner (this attempt). */
  owner: string
  schedule: { id: number; eventId: number }
  seats: PurchaseSeats
  /** The token as claimed: its version tells the COMPLETED one the payment writes. */
  claimed: TokenState
}

/**
 * The paid check's refusal: QUEUE_TOKEN says the token paid already, while Redis let this
 * attempt claim it READY (a payment whose outcome the app never learned, a rebuild from
 * rows older than that payment). Answered TOKEN_EXPIRED, and Redis is told (spentInRedis).
 */
class TokenAlreadyPaid extends AppError {
  constructor() {
    super('TOKEN_EXPIRED', 'queue token expired (COMPLETED)')
  }
}

/**
 * Reserve-and-pay for an order of one or more seats of one show. All or nothing:
 * a seat that is taken or locked fails the whole order, and nothing is sold.
 *
 *   1. request faults first, from cached facts (each refusal confirmed fresh):
 *      too many seats (409), a started show or unknown seats (404); a refusal,
 *      or a fact not cached, runs the guard's check of the token first, so a
 *      bad token is still answered first and never costs a query;
 *   2. one Redis script (queue.beginPurchase) checks and claims the READY token
 *      for this attempt (the guard only read the header: one round trip, not
 *      two) and locks every seat in ascending id, or answers why not: a seat
 *      sold (SOLD marker) or being paid for, a spent token, a parallel payment
 *      with the same token (waited for, then TOKEN_BUSY). Losers of a hot seat
 *      end here, never touching MySQL;
 *   3. fresh prices and limits (one query), then one transaction: the guarded
 *      debit of the total (locks the account row first), one read of the balance
 *      after it, the seats the account holds and the token's paid check
 *      (payment-checks), every reservation, a PAYMENT row per seat, QUEUE_TOKEN
 *      COMPLETED. MySQL's UNIQUE(schedule_id, live_seat_id) is
 *      the guarantee against a second sale; the Redis locks only keep losers
 *      away from it. What the debit refused is explained only on that path;
 *   4. after commit: a show left without a free seat triggers the event's
 *      sold-out recount; then one script (queue.finishPurchase) tells the
 *      catalogue caches and retires the token (freeing its READY slot, which a
 *      sold-out event no longer refills) and marks the seats SOLD.
 */
export class ReservationService {
  /** Payments whose outcome MySQL could not tell at once, settled in the background. */
  private readonly unsettled: UnsettledPayments

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
      /** The app's registry: the background settling's gauge and counter. */
      metrics: Registry
    },
  ) {
    this.unsettled = new UnsettledPayments(deps.log, [deps.metrics])
  }

  /** Stops settling payments in the background (the app is closing). */
  close(): void {
    this.unsettled.close()
  }

  async reserve(request: ReserveRequest): Promise<Reservation & { replayed: boolean }> {
    const { scheduleId, idempotencyKey } = request
    const token = request.token.token
    // Ascending seat id: the one order every request takes seat locks and writes rows in.
    const seatIds = [...request.seatIds].sort(ascending)
    // The token is checked by begin-purchase below, in the round trip that claims it. The
    // guard's check runs first instead when anything before that needs it: a replay needs
    // the account (an Idempotency-Key), a check of the request would read MySQL (a fact not
    // cached on this copy), or the request is refused. So a bad token is answered as it
    // always was, before anything else, and costs MySQL nothing.
    let verified: VerifiedToken | undefined
    if (idempotencyKey) {
      verified = await request.token.check()
      const replay = await this.replay(verified.state.accountId, idempotencyKey, scheduleId, seatIds)
      if (replay) return { ...replay, replayed: true }
      if (verified.completed) throw new AppError('TOKEN_EXPIRED', 'queue token expired (COMPLETED)')
    }
    const checkToken = async (): Promise<void> => {
      verified ??= await request.token.check()
    }
    if (!(await this.deps.catalog.purchaseChecksCached(scheduleId))) await checkToken()
    const tokenFirst = async (error: unknown): Promise<never> => {
      await checkToken()
      throw error
    }

    const schedule = await this.deps.catalog.schedule(scheduleId).catch(tokenFirst)
    // A token of another event (its id is in the token): the guard's check says which error.
    if (eventOfToken(token) !== schedule.eventId) {
      await checkToken()
      throw new AppError('TOKEN_SCOPE_MISMATCH', 'the queue token is for another event')
    }
    try {
      // Too many seats is a fault of the request, answered before any lock: cached limits
      // filter, a fresh read confirms the refusal (the limit may just have been raised).
      if (
        seatIds.length > (await this.deps.catalog.cachedPurchaseLimits(schedule.eventId)).maxSeatsPerOrder
      ) {
        await checkToken()
        orderNotTooLarge(seatIds, await this.deps.catalog.purchaseLimits(schedule.eventId))
      }
      // Likewise a show that has started, or seats that are not its venue's (404).
      if (!(await this.deps.catalog.mayBeForSale(schedule, seatIds))) {
        await checkToken()
        await this.deps.catalog.seatsForSale(schedule, seatIds)
      }
    } catch (error) {
      await tokenFirst(error)
    }
    const owner = randomUUID()
    const lockedSeats: PurchaseSeats = { scheduleId, seatIds, lockTtlMs: this.deps.seatLockTtlMs }

    // One script claims the token and locks every seat; a seat sold or being paid for
    // is refused here, in Redis, so the losers of a hot seat never reach MySQL.
    let claimed: TokenState
    try {
      claimed = await this.begin(request.token, owner, lockedSeats)
    } catch (error) {
      // The token was spent by a parallel request; with the same key, that request's answer is ours.
      if (idempotencyKey && verified && error instanceof AppError && error.code === 'TOKEN_EXPIRED') {
        const replay = await this.replay(verified.state.accountId, idempotencyKey, scheduleId, seatIds)
        if (replay) return { ...replay, replayed: true }
      }
      throw error
    }
    const accountId = claimed.accountId
    const attempt: ClaimedAttempt = { token, owner, schedule, seats: lockedSeats, claimed }

    let completed = false
    // The claim and the seat locks are kept alive while this payment runs; if this process
    // dies they lapse within their TTLs and the fan's retry (on any copy) can go again.
    const ttl = Math.min(this.deps.claimTtlMs, this.deps.seatLockTtlMs)
    const keepAlive = setInterval(
      () =>
        void this.deps.queue
          .extendPurchase(token, owner, this.deps.claimTtlMs, lockedSeats)
          .catch(() => undefined),
      Math.max(10, Math.floor(ttl / 3)),
    )
    keepAlive.unref()
    /** The commit time the transaction writes; set once it is about to run (pay). */
    let completedAt: Date | undefined
    /** pay() got as far as asking for the COMMIT: an error after that may hide one that landed. */
    const progress = { committing: false }
    /** The transaction's COMMIT went unanswered and MySQL could not say whether it landed. */
    let unknownOutcome = false
    /** The paid check refused the token: MySQL says it paid, Redis had it READY. */
    let spent = false
    try {
      // Prices and limits read fresh (an operator may just have changed them); refuses a show
      // that has started in its venue's zone (SCHEDULE_NOT_FOUND) and unknown seats.
      const seats = await this.deps.catalog.seatsForSale(schedule, seatIds)
      const limits = seats[0] ?? (await this.deps.catalog.purchaseLimits(schedule.eventId))
      orderNotTooLarge(seatIds, limits)
      const total = seats.reduce((sum, seat) => sum + seat.price, 0)
      completedAt = new Date()
      const paid = await this.pay({
        accountId,
        eventId: schedule.eventId,
        maxSeatsPerAccount: limits.maxSeatsPerAccount,
        scheduleId,
        seats,
        total,
        claimed,
        completedAt,
        idempotencyKey,
        progress,
      })
      completed = true
      clearInterval(keepAlive)
      await this.afterCommitOrLater(attempt, completedAt)
      const result = answer({
        accountId,
        scheduleId,
        seats: seats.map((seat, i) => ({
          seatId: seat.seatId,
          seatNumber: seat.seatNumber,
          price: seat.price,
          reservationId: paid.reservationIds[i] as number,
        })),
        balance: paid.balanceAfter,
        reservedAt: completedAt,
      })
      return { ...result, replayed: false }
    } catch (error) {
      spent = error instanceof TokenAlreadyPaid
      // With an Idempotency-Key, a refusal may be this request's own first attempt having
      // committed: a retry whose claim overtook the lapsed claim of the first (its copy lost
      // Redis, or stalled past CLAIM_TTL_MS) then finds the token paid, or the seats sold, or
      // the money gone. The first answer is the answer to every retry of that key.
      if (idempotencyKey && (error instanceof IdempotentRace || error instanceof AppError)) {
        // A replay that cannot be read leaves this refusal as the answer.
        const replay = await this.replay(accountId, idempotencyKey, scheduleId, seatIds).catch(
          () => undefined,
        )
        if (replay) {
          // The token paid with the first attempt: Redis is told (spentInRedis), whatever
          // refused this one (the money or the seats gone, not only the paid check).
          spent = true
          return { ...replay, replayed: true }
        }
      }
      // A failure once the COMMIT was asked for: it may have landed with the answer lost (the
      // connection dropped). Then the sale is final and Redis is told so (the token COMPLETED,
      // its slot freed, the seats SOLD) instead of being given back. A failure before it (a
      // statement, a connection never had) rolled everything back: given back as always.
      if (!completed && completedAt && progress.committing && !(error instanceof AppError)) {
        const committed = await paymentCommitted(this.deps.db, claimed, completedAt).catch(() => undefined)
        if (committed === undefined) {
          // MySQL cannot say (it is what failed): neither finish nor give back now. The claim
          // and the locks lapse within their TTLs; a sale that did commit is kept by MySQL
          // (QUEUE_TOKEN refuses the token again, the UNIQUE key the seats). Once MySQL can
          // say, the outcome is applied in the background (unsettled-payments.ts).
          unknownOutcome = true
          const commitTime = completedAt
          this.unsettled.settle({
            describe: { eventId: schedule.eventId, scheduleId, seatIds },
            committed: () => paymentCommitted(this.deps.db, claimed, commitTime),
            finish: () => this.finishInRedis(attempt, commitTime),
            giveBack: async () => {
              await this.deps.queue.abortPurchase(token, owner, lockedSeats)
            },
          })
        } else if (committed) {
          completed = true
          clearInterval(keepAlive)
          await this.afterCommitOrLater(attempt, completedAt)
          // Answered as if the COMMIT had been: the order read back from what it wrote.
          const order = await this.readBack(accountId, scheduleId, seatIds, completedAt).catch(
            () => undefined,
          )
          if (order) return { ...order, replayed: false }
        }
      }
      throw error
    } finally {
      clearInterval(keepAlive)
      // A failed attempt leaves the token READY for the next try and its seats free.
      if (!completed && !unknownOutcome)
        await this.deps.queue.abortPurchase(token, owner, lockedSeats).catch(() => false)
      if (spent) await this.spentInRedis(token)
    }
  }

  /** A token that paid by QUEUE_TOKEN: Redis is brought to the row (paidByMysql). Best effort. */
  private async spentInRedis(token: string): Promise<void> {
    await paidByMysql(this.deps, token).catch((error: unknown) =>
      this.deps.log.warn({ err: error, eventId: eventOfToken(token) }, 'could not read a paid token'),
    )
  }

  /** The transaction: every write of an order commits together or not at all. */
  private async pay(sale: {
    accountId: string
    eventId: number
    maxSeatsPerAccount: number
    scheduleId: number
    seats: readonly OrderSeat[]
    total: number
    claimed: TokenState
    completedAt: Date
    idempotencyKey?: string | undefined
    /** Set once every statement ran and the COMMIT is asked for (reset by a deadlock's rerun). */
    progress: { committing: boolean }
  }): Promise<{ reservationIds: number[]; balanceAfter: number }> {
    try {
      // READ COMMITTED: each read sees the latest commit, so the paid check after the
      // account lock sees a payment with the same token that committed while this one
      // waited (payment-checks); and no gap locks, so payments whose QUEUE_TOKEN row the
      // mirror has not written yet do not deadlock on the missing rows in the COMPLETED
      // upsert. A deadlock that still happens (InnoDB undid the whole transaction) is
      // simply run again.
      return await retryOnDeadlock(() =>
        this.deps.db
          .transaction()
          .setIsolationLevel('read committed')
          .execute(async (trx) => {
            sale.progress.committing = false
            // The account row first: every money-moving transaction locks it before anything
            // else, so one account's purchases and refunds run one at a time from here on.
            if (!(await deductFromBalance(trx, sale.accountId, sale.total))) {
              throw await this.whyNotDebited(trx, sale)
            }
            // One read under the account lock: the balance after the debit, the seats the
            // account holds of the event (parallel orders of one account see each other), and
            // QUEUE_TOKEN's word on the token (a second payment with it waited on the account
            // row above, so it reads the first one's COMPLETED).
            const checks = await readPaymentChecks(trx, {
              accountId: sale.accountId,
              eventId: sale.eventId,
              token: sale.claimed.token,
            })
            if (checks.paid) throw new TokenAlreadyPaid()
            const { held } = checks
            if (held + sale.seats.length > sale.maxSeatsPerAccount) {
              throw new AppError(
                'PURCHASE_LIMIT_EXCEEDED',
                `an account may hold ${sale.maxSeatsPerAccount} seats of this event; it holds ${held}, ` +
                  `this order adds ${sale.seats.length}`,
                { extensions: { maxSeatsPerAccount: sale.maxSeatsPerAccount, seatsHeld: held } },
              )
            }
            const reservationIds = await insertOrder(trx, {
              scheduleId: sale.scheduleId,
              accountId: sale.accountId,
              reservedAt: sale.completedAt,
              seats: sale.seats,
            })
            const balanceAfter = checks.balance
            try {
              await insertHistory(trx, paymentRows(sale, reservationIds, balanceAfter))
            } catch (error) {
              if (isDuplicateKey(error)) throw new IdempotentRace()
              throw error
            }
            await markTokenCompleted(trx, sale.claimed, sale.completedAt)
            // Kysely sends the COMMIT when this returns.
            sale.progress.committing = true
            return { reservationIds, balanceAfter }
          }),
      )
    } catch (error) {
      // A seat sold in the meantime (UNIQUE(schedule_id, live_seat_id)): a 409 naming it, never a 500.
      if (isDuplicateKey(error) && !(error instanceof AppError)) {
        const seatIds = sale.seats.map((seat) => seat.seatId)
        const taken = await soldSeatIdsAmong(this.deps.db, sale.scheduleId, seatIds).catch(() => [])
        throw seatsTaken(taken.length > 0 ? taken : seatIds)
      }
      throw error
    }
  }

  /**
   * Why the guarded debit took nothing (only on this failure path, so a sale costs no
   * pre-check queries): no such account (404), a seat already sold (409, the answer a
   * buyer of a taken seat expects first), or not enough money (402).
   */
  private async whyNotDebited(
    trx: Transaction<Database>,
    sale: { accountId: string; scheduleId: number; seats: readonly OrderSeat[]; total: number },
  ): Promise<AppError> {
    const balance = await balanceOf(trx, sale.accountId)
    if (balance === undefined)
      return new AppError('ACCOUNT_NOT_FOUND', `account ${sale.accountId} does not exist`)
    const taken = await soldSeatIdsAmong(
      trx,
      sale.scheduleId,
      sale.seats.map((seat) => seat.seatId),
    )
    if (taken.length > 0) return seatsTaken(taken)
    return new AppError(
      'INSUFFICIENT_BALANCE',
      `the order costs ${sale.total} won, the balance is ${balance}`,
    )
  }

  /**
   * afterCommit, throwing when Redis did not take the sale (a step of the background
   * settling). Late, it may mark seats SOLD that an operator refunded since the COMMIT,
   * after that refund took their markers off: they are checked again once marked.
   */
  private async finishInRedis(attempt: ClaimedAttempt, completedAt: Date): Promise<void> {
    if (!(await this.afterCommit(attempt, completedAt)))
      throw new Error('Redis did not take the finished sale')
    const { schedule, seats } = attempt
    await this.deps.sale.releaseUnsold(schedule.eventId, schedule.id, seats.seatIds)
  }

  /**
   * afterCommit for a payment known to have committed; when Redis did not take the sale,
   * it is finished in the background (unsettled-payments.ts) instead of left to the TTLs.
   */
  private async afterCommitOrLater(attempt: ClaimedAttempt, completedAt: Date): Promise<void> {
    if (await this.afterCommit(attempt, completedAt)) return
    const { schedule, seats } = attempt
    this.unsettled.settle({
      describe: { eventId: schedule.eventId, scheduleId: schedule.id, seatIds: seats.seatIds },
      committed: async () => true,
      finish: () => this.finishInRedis(attempt, completedAt),
      giveBack: async () => {},
    })
  }

  /**
   * Post-commit bookkeeping; the sale is final, so failures here are logged, not thrown.
   * False when Redis did not take the finished sale (the background settling asks again).
   */
  private async afterCommit(attempt: ClaimedAttempt, completedAt: Date): Promise<boolean> {
    const { token, owner, schedule, seats, claimed } = attempt
    // The last seat on sale: the queue ends its waiters and stops taking joins (SPEC §8).
    // Settled before the token frees its READY slot, so no waiter is admitted to an event
    // with nothing left to sell.
    await this.deps.sale.afterSale(schedule.eventId, schedule.id)
    // One script: the token COMPLETED, its slot freed, the seats marked SOLD (their locks
    // released), and the show's and the event's catalogue versions rewritten, so every copy
    // answers this show's seat map and the event's dates afresh. The token's COMPLETED row
    // committed with the payment, so the mirror is not handed the same change to write again.
    return this.deps.queue
      .finishPurchase(
        token,
        owner,
        completedAt,
        seats,
        this.deps.catalog.saleChange([schedule.id]),
        // The version pay() wrote the token COMPLETED at (markTokenCompleted).
        completedVersion(claimed),
      )
      .then(
        // Not this attempt's claim any more (a retry took over the lapsed one) ends the token
        // too: the committed version ends it whoever holds the claim.
        () => true,
        (error: unknown) => {
          // QUEUE_TOKEN already says COMPLETED, which stops any second payment; MySQL's UNIQUE key
          // stops a second sale of the seats, whose locks lapse within their TTL; the cached
          // seat maps and dates lapse within SEAT_MAP_CACHE_MS.
          this.deps.log.error(
            { err: error, eventId: schedule.eventId, scheduleId: schedule.id },
            'could not finish a paid purchase in Redis',
          )
          return false
        },
      )
  }

  /**
   * Claims the token and locks the seats (queue.beginPurchase): the token's check too. A
   * token it refuses gets the guard's answer (`check`), which says exactly why. While a
   * parallel request with the same token pays, waits up to claimWaitMs for it to end
   * (then TOKEN_BUSY).
   */
  private async begin(token: QueueTokenCheck, owner: string, seats: PurchaseSeats): Promise<TokenState> {
    const deadline = Date.now() + this.deps.claimWaitMs
    for (;;) {
      const result = await this.deps.queue.beginPurchase(token.token, owner, this.deps.claimTtlMs, seats)
      if (result.ok) return result.state
      switch (result.reason) {
        case 'MISSING':
        case 'NOT_READY':
        case 'EXPIRED':
          await token.check()
          // The guard's check let it through: the token changed in between (it expired or paid just now).
          throw refusedToken(result.reason)
        case 'SEAT_TAKEN':
          throw seatsTaken(result.seatIds)
        case 'SEAT_LOCKED':
          throw new AppError(
            'SEAT_LOCKED',
            `another user is reserving seat${result.seatIds.length > 1 ? 's' : ''} ${result.seatIds.join(', ')} right now; nothing was sold`,
            { extensions: { seatIds: result.seatIds } },
          )
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

  /**
   * The 201 answer of an order that committed, read back from its rows: its seats'
   * reservations (the first seat's, then its whole order, which must be exactly these
   * seats, this account's, at this commit time) and the ledger's balance after it.
   */
  private async readBack(
    accountId: string,
    scheduleId: number,
    seatIds: readonly number[],
    reservedAt: Date,
  ): Promise<Reservation | undefined> {
    const first = await findLiveReservation(this.deps.db, scheduleId, seatIds[0] as number)
    if (!first || first.accountId !== accountId || first.reservedAt.getTime() !== reservedAt.getTime())
      return undefined
    const order = await this.orderOf(first.orderId, seatIds)
    const last = order?.[order.length - 1]
    const payment = last && (await findReservationRow(this.deps.db, last.reservationId, 'PAYMENT'))
    if (!order || !payment) return undefined
    return answer({ accountId, scheduleId, seats: order, balance: payment.balance_after, reservedAt })
  }

  /** The rows of order `orderId` (ascending seat id), if it is exactly these seats (in any order). */
  private async orderOf(orderId: number, seatIds: readonly number[]) {
    const order = await listOrder(this.deps.db, orderId)
    return sameSeats(
      order.map((r) => r.seatId),
      seatIds,
    )
      ? order
      : undefined
  }

  /**
   * The first answer given for this Idempotency-Key, if it was an order of these seats
   * of this show (in any order). The key sits on the order's last PAYMENT row, whose
   * balance_after is the balance the first answer reported.
   */
  private replay(
    accountId: string,
    key: string,
    scheduleId: number,
    seatIds: readonly number[],
  ): Promise<Reservation | undefined> {
    return replayByIdempotencyKey(this.deps.db, accountId, key, async (row) => {
      const paidFor =
        row.type === 'PAYMENT' && row.reservation_id !== null
          ? await findReservationView(this.deps.db, row.reservation_id)
          : undefined
      if (!paidFor || paidFor.scheduleId !== scheduleId) return undefined
      const order = await this.orderOf(paidFor.orderId, seatIds)
      if (!order) return undefined
      return answer({
        accountId,
        scheduleId,
        seats: order,
        balance: row.balance_after,
        reservedAt: paidFor.reservedAt,
      })
    })
  }
}
