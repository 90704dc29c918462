import { describe, expect, it } from 'vitest'
import { cachedBody } from '../src/catalog-cache.js'
import { type LayoutSeat, seatMapBody } from '../src/seat-map-body.js'

/*
 * A show's seat map is built again after every sale of the show, from seat pieces made
 * once per layout (seat-map-body.ts). Its bytes must be those of the whole SeatMap
 * stringified, whatever the seats hold and whichever are sold.
 */

const head = { scheduleId: 7, eventId: 3, date: '2030-01-01', startTime: '19:00:00', maxSeatsPerOrder: 4 }
const layout: LayoutSeat[] = [
  { seatId: 1, seatNumber: '1', area: 'A', seatType: 'VIP', price: 150_000 },
  { seatId: 2, seatNumber: '2 "aisle"', area: 'B\\east', seatType: 'R', price: null },
  { seatId: 30, seatNumber: '1층-가', area: '\u2028 line', seatType: 'S', price: 0 },
]

const whole = (sold: ReadonlySet<number>) =>
  cachedBody({
    ...head,
    seats: layout.map((seat) => ({ ...seat, status: sold.has(seat.seatId) ? 'RESERVED' : 'AVAILABLE' })),
  }).json.toString()

describe('seatMapBody', () => {
  it('is byte for byte the whole map stringified, for every set of sold seats, drawn again and again', () => {
    for (const sold of [[], [1], [2, 30], [1, 2, 30], [99]]) {
      const set = new Set(sold)
      const body = seatMapBody(head, layout, set).json.toString()
      expect(body).toBe(whole(set))
      expect(JSON.parse(body).seats.filter((s: { status: string }) => s.status === 'RESERVED')).toHaveLength(
        sold.filter((id) => id !== 99).length,
      )
    }
  })

  it('an empty layout is an empty list of seats', () => {
    expect(JSON.parse(seatMapBody(head, [], new Set()).json.toString())).toEqual({ ...head, seats: [] })
  })
})
