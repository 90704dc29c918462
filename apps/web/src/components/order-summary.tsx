import type { Seat } from '@concert/client'
import { formatWon } from '../format'

/** The seats picked so far, their total, and the Pay button. */
export function OrderSummary({
  seats,
  paying,
  disabled,
  onPay,
}: {
  seats: Seat[]
  paying: boolean
  disabled: boolean
  onPay: () => void
}) {
  const total = seats.reduce((sum, seat) => sum + (seat.price ?? 0), 0)
  return (
    <section class="order" aria-labelledby="order-title">
      <h2 id="order-title">Your order</h2>
      {seats.length === 0 ? (
        <p>No seat selected yet.</p>
      ) : (
        <ul class="order-seats">
          {seats.map((seat) => (
            <li key={seat.seatId}>
              Seat {seat.seatNumber} · area {seat.area} · {seat.seatType}
              {seat.price === null ? '' : ` · ${formatWon(seat.price)}`}
            </li>
          ))}
        </ul>
      )}
      <button
        type="button"
        class="primary pay"
        disabled={seats.length === 0 || paying || disabled}
        onClick={onPay}
      >
        {paying ? 'Paying…' : seats.length === 0 ? 'Pay' : `Pay ${formatWon(total)}`}
      </button>
    </section>
  )
}
