import { Link } from 'wouter-preact'
import { Screen } from '../components/screen'
import { formatDate, formatTime, formatWon } from '../format'
import { useSession } from '../session'

/** Step 5: what was bought, what it cost, and the balance after paying. */
export function ConfirmationScreen() {
  const { lastPurchase: purchase } = useSession()
  if (!purchase) {
    return (
      <Screen title="No purchase yet">
        <p>
          You have not bought anything in this browser yet. <Link href="/">Find a concert</Link>.
        </p>
      </Screen>
    )
  }
  return (
    <Screen title="Payment complete">
      <div class="notice notice-success" role="status">
        <p class="headline">You’re going to {purchase.eventTitle}!</p>
        <p>
          {formatDate(purchase.date)} at {formatTime(purchase.startTime)}
        </p>
      </div>
      <table class="table">
        <caption>Your seats</caption>
        <thead>
          <tr>
            <th scope="col">Seat</th>
            <th scope="col">Area</th>
            <th scope="col">Type</th>
            <th scope="col" class="number">
              Price
            </th>
          </tr>
        </thead>
        <tbody>
          {purchase.seats.map((seat) => (
            <tr key={seat.reservationId}>
              <td>{seat.seatNumber}</td>
              <td>{seat.area}</td>
              <td>{seat.seatType}</td>
              <td class="number">{formatWon(seat.price)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={3}>
              Total paid
            </th>
            <td class="number" data-testid="total">
              {formatWon(purchase.total)}
            </td>
          </tr>
        </tfoot>
      </table>
      <p class="balance-line">
        Your new balance: <strong data-testid="new-balance">{formatWon(purchase.balance)}</strong>
      </p>
      <div class="actions">
        <Link href="/reservations" class="button primary">
          My reservations
        </Link>
        <Link href="/" class="button">
          Back to events
        </Link>
      </div>
    </Screen>
  )
}
