import type { Seat } from '@concert/client'
import { formatWon } from '../format'

/** Seat types by price, most expensive first: the legend's order and each type's colour. */
export function seatTypesOf(seats: Seat[]): { seatType: string; price: number | null }[] {
  const types = new Map<string, number | null>()
  for (const seat of seats) if (!types.has(seat.seatType)) types.set(seat.seatType, seat.price)
  return [...types]
    .map(([seatType, price]) => ({ seatType, price }))
    .sort((a, b) => (b.price ?? -1) - (a.price ?? -1) || a.seatType.localeCompare(b.seatType))
}

/** Seats grouped by area, areas in the order their first seat appears (the map is by seat number). */
function byArea(seats: Seat[]): [string, Seat[]][] {
  const areas = new Map<string, Seat[]>()
  for (const seat of seats) areas.set(seat.area, [...(areas.get(seat.area) ?? []), seat])
  return [...areas]
}

/** A seat can be bought when it is free and has a price for this event. */
export function isBuyable(seat: Seat): boolean {
  return seat.status === 'AVAILABLE' && seat.price !== null
}

function seatLabel(seat: Seat): string {
  const price = seat.price === null ? 'no price' : formatWon(seat.price)
  const state = seat.status === 'RESERVED' ? 'sold' : seat.price === null ? 'not on sale' : 'available'
  return `Seat ${seat.seatNumber}, area ${seat.area}, ${seat.seatType}, ${price}, ${state}`
}

/** The palette has six colours; more seat types reuse them (the legend and labels still tell them apart). */
const PALETTE_SIZE = 6

/**
 * The seat map: one group per area, one button per seat. A seat's accessible
 * name says its number, area, type, price and whether it is sold; `aria-pressed`
 * says whether it is selected. Sold seats are disabled.
 */
export function SeatMap({
  seats,
  selected,
  onToggle,
}: {
  seats: Seat[]
  selected: ReadonlySet<number>
  onToggle: (seat: Seat) => void
}) {
  const types = seatTypesOf(seats)
  const colour = (seatType: string) => types.findIndex((type) => type.seatType === seatType) % PALETTE_SIZE
  return (
    <div class="seat-map">
      <ul class="legend" aria-label="Seat types and prices">
        {types.map((type) => (
          <li key={type.seatType}>
            <span class={`swatch seat-colour-${colour(type.seatType)}`} aria-hidden="true" />
            {type.seatType} {type.price === null ? '(not on sale)' : formatWon(type.price)}
          </li>
        ))}
        <li>
          <span class="swatch swatch-selected" aria-hidden="true" />
          Selected
        </li>
        <li>
          <span class="swatch swatch-sold" aria-hidden="true" />
          Sold
        </li>
      </ul>
      <p class="stage" aria-hidden="true">
        Stage
      </p>
      {byArea(seats).map(([area, areaSeats]) => (
        <fieldset key={area} class="area">
          <legend>Area {area}</legend>
          <div class="seats">
            {areaSeats.map((seat) => {
              const isSelected = selected.has(seat.seatId)
              return (
                <button
                  key={seat.seatId}
                  type="button"
                  class={`seat seat-colour-${colour(seat.seatType)}`}
                  aria-label={seatLabel(seat)}
                  aria-pressed={isSelected}
                  disabled={!isBuyable(seat) && !isSelected}
                  data-seat-id={seat.seatId}
                  onClick={() => onToggle(seat)}
                >
                  {seat.seatNumber}
                </button>
              )
            })}
          </div>
        </fieldset>
      ))}
    </div>
  )
}
