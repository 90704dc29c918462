import { AppError } from '@concert/shared'
import type { HistoryEntry } from '../repositories/balance-history.repository.js'
import type { Reservation } from '../schemas.js'

/*
 * An order of seats as reserve-and-pay sees it: its seats, the refusals that name them,
 * the ledger rows it writes and the 201 it answers with.
 */

/** A seat of the order as sold: its id, number and the price paid. */
export interface OrderSeat {
  seatId: number
  seatNumber: string
  price: number
}

export const ascending = (a: number, b: number) => a - b

/** Same seats, whatever order the client listed them in. */
export function sameSeats(a: readonly number[], b: readonly number[]): boolean {
  const [x, y] = [[...a].sort(ascending), [...b].sort(ascending)]
  return x.length === y.length && x.every((id, i) => id === y[i])
}

/** 409 ORDER_TOO_LARGE when the order has more seats than the event allows in one order. */
export function orderNotTooLarge(seatIds: readonly number[], limits: { maxSeatsPerOrder: number }): void {
  if (seatIds.length <= limits.maxSeatsPerOrder) return
  throw new AppError(
    'ORDER_TOO_LARGE',
    `an order of this event may have at most ${limits.maxSeatsPerOrder} seats; this one has ${seatIds.length}`,
    { extensions: { maxSeatsPerOrder: limits.maxSeatsPerOrder } },
  )
}

/** begin-purchase's refusal of the token itself. */
export function refusedToken(reason: 'MISSING' | 'NOT_READY' | 'EXPIRED'): AppError {
  switch (reason) {
    case 'MISSING':
      return new AppError('TOKEN_INVALID', 'unknown queue token')
    case 'NOT_READY':
      return new AppError('TOKEN_NOT_READY', 'still waiting in the queue')
    case 'EXPIRED':
      return new AppError('TOKEN_EXPIRED', 'queue token expired')
  }
}

/**
 * 409 naming every unavailable seat of the order (sold, or in another payment's hands when
 * at least one is sold), so a client can offer others in one go.
 */
export function seatsTaken(seatIds: readonly number[]): AppError {
  return new AppError(
    'SEAT_ALREADY_RESERVED',
    `seat${seatIds.length > 1 ? 's' : ''} ${seatIds.join(', ')} not available; nothing was sold`,
    { extensions: { seatIds: [...seatIds] } },
  )
}

/**
 * One PAYMENT row per seat, so every reservation has its own ledger entry (and a refund
 * its mirror image). balance_after runs down seat by seat to the balance after the
 * order; the Idempotency-Key goes on the last row, which carries that final balance.
 */
export function paymentRows(
  sale: {
    accountId: string
    seats: readonly OrderSeat[]
    total: number
    idempotencyKey?: string | undefined
  },
  reservationIds: readonly number[],
  balanceAfter: number,
): HistoryEntry[] {
  let running = balanceAfter + sale.total
  return sale.seats.map((seat, i) => {
    running -= seat.price
    const last = i === sale.seats.length - 1
    return {
      accountId: sale.accountId,
      amount: -seat.price,
      type: 'PAYMENT',
      reservationId: reservationIds[i] as number,
      idempotencyKey: last ? (sale.idempotencyKey ?? null) : null,
      balanceAfter: running,
    }
  })
}

/** The 201 body: the v1 fields for the first seat (ascending seat id), then every seat and the total. */
export function answer(order: {
  accountId: string
  scheduleId: number
  seats: ReadonlyArray<OrderSeat & { reservationId: number }>
  balance: number
  reservedAt: Date
}): Reservation {
  const [first] = order.seats
  if (!first) throw new Error('an order has at least one seat')
  return {
    reservationId: first.reservationId,
    accountId: order.accountId,
    scheduleId: order.scheduleId,
    seatId: first.seatId,
    seatNumber: first.seatNumber,
    price: first.price,
    balance: order.balance,
    reservedAt: order.reservedAt.toISOString(),
    seats: order.seats.map((seat) => ({
      reservationId: seat.reservationId,
      seatId: seat.seatId,
      seatNumber: seat.seatNumber,
      price: seat.price,
    })),
    total: order.seats.reduce((sum, seat) => sum + seat.price, 0),
  }
}
