import type { Reservation, ReserveRequest } from '@concert/client'
import type { PurchasedSeat } from './session'

/** The body of `POST /v1/reservations`: `seatId` for one seat, `seatIds` for several (SPEC §9). */
export function reservationBody(scheduleId: number, seatIds: number[]): ReserveRequest {
  const [first] = seatIds
  if (first === undefined) throw new Error('an order needs at least one seat')
  if (seatIds.length === 1) return { scheduleId, seatId: first }
  return { scheduleId, seatIds }
}

/** The seats an answer says were bought, with their area and type from the seat map the fan picked from. */
export function purchasedSeats(
  answer: Reservation,
  describe: (seatId: number) => { area: string; seatType: string } | undefined,
): PurchasedSeat[] {
  const { seats } = answer
  return seats.map((seat) => ({
    ...seat,
    area: describe(seat.seatId)?.area ?? '',
    seatType: describe(seat.seatId)?.seatType ?? '',
  }))
}
