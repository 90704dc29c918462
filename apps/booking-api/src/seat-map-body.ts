import { type CachedBody, cachedBody } from './catalog-cache.js'
import type { SeatMap } from './schemas.js'

/** A seat of a show's priced layout, as a seat map lists it. */
export interface LayoutSeat {
  seatId: number
  seatNumber: string
  area: string
  seatType: string
  price: number | null
}

type Status = SeatMap['seats'][number]['status']

/**
 * Each seat of a layout as JSON, per status, made the first time it is drawn and kept with
 * the layout (one cached array per event version). A show's seat map is built again after
 * every sale of the show (its version changed), on every copy that serves it: stringifying
 * its 3,000 seat objects each time was a good part of that build. Made on first use, so a
 * layout drawn once (caching off) costs one stringify per seat, as before.
 */
const piecesOf = new WeakMap<readonly LayoutSeat[], Record<Status, string[]>>()

function piecesFor(seats: readonly LayoutSeat[]): Record<Status, string[]> {
  let made = piecesOf.get(seats)
  if (!made) {
    made = { AVAILABLE: [], RESERVED: [] }
    piecesOf.set(seats, made)
  }
  return made
}

/** The seat's fields in the order the seat map's schema lists them. */
function pick(seat: LayoutSeat): Omit<SeatMap['seats'][number], 'status'> {
  return {
    seatId: seat.seatId,
    seatNumber: seat.seatNumber,
    area: seat.area,
    seatType: seat.seatType,
    price: seat.price,
  }
}

/**
 * `GET /v1/schedules/{id}/seats` as sent: the same bytes as `cachedBody(map)` of the
 * whole SeatMap, with each seat RESERVED when `sold` has it.
 */
export function seatMapBody(
  head: Omit<SeatMap, 'seats'>,
  seats: readonly LayoutSeat[],
  sold: ReadonlySet<number>,
): CachedBody {
  if (seats.length === 0) return cachedBody({ ...head, seats: [] })
  const pieces = piecesFor(seats)
  const listed = seats.map((seat, i) => {
    const status: Status = sold.has(seat.seatId) ? 'RESERVED' : 'AVAILABLE'
    const list = pieces[status]
    const known = list[i]
    if (known !== undefined) return known
    const json = JSON.stringify({ ...pick(seat), status })
    list[i] = json
    return json
  })
  const opening = JSON.stringify(head)
  return { json: Buffer.from(`${opening.slice(0, -1)},"seats":[${listed.join(',')}]}`) }
}
