import { type Database, isDuplicateKey, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import type { AdminRefund, RefundBody } from '../admin-schemas.js'
import { addToBalance, balanceOf, lockAccount } from '../repositories/accounts.repository.js'
import { type AuditEntry, insertAudit } from '../repositories/admin-audit.repository.js'
import { findReservationRow, insertHistory } from '../repositories/balance-history.repository.js'
import {
  findByRefundKey,
  findReservation,
  findReservationView,
  lockReservation,
  markRefunded,
} from '../repositories/reservations.repository.js'
import type { CatalogService } from './catalog.service.js'
import { idempotencyKeyInUse, replayByKey } from './idempotency.js'

const KEY_IN_USE = 'this Idempotency-Key was used to refund another reservation'

/**
 * Cancels one sold seat (SPEC §7, §9): RESERVATION SOLD → REFUNDED, which frees the
 * seat (UNIQUE(schedule_id, live_seat_id) covers SOLD rows only), the price back on the
 * balance with a REFUND ledger row, and an ADMIN_AUDIT row, in one transaction. Money
 * moves once per reservation: the transaction locks the account row first (as payments
 * do) and then the reservation, so parallel refunds of one sale run one after another
 * and all but the first find it REFUNDED and answer the same, moving nothing. The
 * operator's Idempotency-Key is kept on the reservation: reused for another one → 409.
 *
 * The event's sale state is not touched here: "seats left" counts SOLD rows, so a
 * refunded seat is left again for whoever computes it.
 */
export async function refundReservation(
  db: Kysely<Database>,
  catalog: CatalogService,
  reservationId: number,
  request: RefundBody & { idempotencyKey?: string | undefined },
  audit: AuditEntry,
): Promise<{ refund: AdminRefund; replayed: boolean }> {
  const key = request.idempotencyKey ?? null
  const replay = await replayByKey(
    key,
    (k) => findByRefundKey(db, k),
    async (earlier) =>
      earlier.id === reservationId
        ? { refund: await refundView(db, reservationId), replayed: true }
        : undefined,
    KEY_IN_USE,
  )
  if (replay) return replay
  const scheduleId = await retryOnDeadlock(() =>
    db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx): Promise<number | undefined> => {
        const sale = await findReservation(trx, reservationId)
        if (!sale) throw new AppError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`)
        await lockAccount(trx, sale.account_id)
        const locked = await lockReservation(trx, reservationId)
        if (locked?.status !== 'SOLD') return undefined
        try {
          await markRefunded(trx, reservationId, { reason: request.reason.trim(), key, at: new Date() })
        } catch (error) {
          if (isDuplicateKey(error)) throw idempotencyKeyInUse(KEY_IN_USE)
          throw error
        }
        if (!(await addToBalance(trx, sale.account_id, sale.price))) {
          throw new AppError(
            'AMOUNT_OUT_OF_RANGE',
            `refunding ${sale.price} won would take the balance past 2,147,483,647`,
          )
        }
        await insertHistory(trx, {
          accountId: sale.account_id,
          amount: sale.price,
          type: 'REFUND',
          reservationId,
          idempotencyKey: null,
          balanceAfter: (await balanceOf(trx, sale.account_id)) ?? 0,
        })
        await insertAudit(trx, audit, reservationId)
        return sale.schedule_id
      }),
  )
  // The seat is on sale again: every copy's seat map and dates answer it from the next request on.
  if (scheduleId !== undefined) await catalog.seatsChanged([scheduleId])
  return { refund: await refundView(db, reservationId), replayed: scheduleId === undefined }
}

/** The refund as the first answer gave it, rebuilt from the reservation and its REFUND row. */
async function refundView(db: Kysely<Database>, reservationId: number): Promise<AdminRefund> {
  const [sale, row] = await Promise.all([
    findReservationView(db, reservationId),
    findReservationRow(db, reservationId, 'REFUND'),
  ])
  if (sale?.status !== 'REFUNDED' || !row || !sale.refundedAt) {
    throw new Error(`reservation ${reservationId} has no complete refund`)
  }
  return {
    reservationId,
    orderId: Number(sale.orderId),
    accountId: sale.accountId,
    scheduleId: sale.scheduleId,
    seatId: sale.seatId,
    seatNumber: sale.seatNumber,
    status: 'REFUNDED',
    refunded: row.amount,
    balance: row.balance_after,
    reason: sale.refundReason ?? '',
    refundedAt: sale.refundedAt.toISOString(),
  }
}
