import type { Reservation, ReserveRequest } from '@concert/client'
import type { PurchasedSeat } from './session'

/** The body of `POST /v1/reservations`: `seatId` for one seat, `seatIds` for several (SPEC §9). */
export function reservationBody(scheduleId: number, seatIds: number[]): ReserveRequest {
  const [first] = seatIds
  if (first === undefined) throw new Error('an order needs at least one seat')
  if (seatIds.length === 1) return { scheduleId, seatId: first }
  return { scheduleId, seatIds }
}

/**
 * A 201 of `POST /v1/reservations`: v1's fields for the first seat, plus `seats`
 * and `total` once orders hold several seats (SPEC §9).
 */
export type OrderAnswer = Reservation & {
  seats?: { reservationId: number; seatId: number; seatNumber: string; price: number }[]
  total?: number
}

/** The seats an answer says were bought, with their area and type from the seat map the fan picked from. */
export function purchasedSeats(
  answer: OrderAnswer,
  describe: (seatId: number) => { area: string; seatType: string } | undefined,
): PurchasedSeat[] {
  const seats = answer.seats ?? [
    {
      reservationId: answer.reservationId,
      seatId: answer.seatId,
      seatNumber: answer.seatNumber,
      price: answer.price,
    },
  ]
  return seats.map((seat) => ({
    ...seat,
    area: describe(seat.seatId)?.area ?? '',
    seatType: describe(seat.seatId)?.seatType ?? '',
  }))
}

/** What the order cost: `total` when the API sends it, else the sum of the seats. */
export function orderTotal(answer: OrderAnswer): number {
  return answer.total ?? (answer.seats ?? [answer]).reduce((sum, seat) => sum + seat.price, 0)
}
