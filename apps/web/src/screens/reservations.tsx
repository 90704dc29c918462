import { type AccountReservation, bearer } from '@concert/client'
import { useEffect, useState } from 'preact/hooks'
import { Link } from 'wouter-preact'
import { ApiError, api, call } from '../api'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { formatDate, formatInstant, formatTime, formatWon } from '../format'
import { useSession } from '../session'

/** Codes that mean "this token cannot show the list"; another held token may. */
const STALE_TOKEN = new Set(['TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_NOT_FOUND', 'TOKEN_SCOPE_MISMATCH'])

/**
 * My reservations. The API shows them to a holder of one of the account's queue
 * tokens (waiting, READY, or the one that just paid; SPEC §3), so the tokens this
 * browser holds are tried in turn.
 */
export function ReservationsScreen() {
  const session = useSession()
  const accountId = session.account?.id
  const tokens = Object.values(session.tickets).map((held) => held.token)
  const [rows, setRows] = useState<AccountReservation[] | undefined>(undefined)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [noToken, setNoToken] = useState(false)
  const tokenList = tokens.join(' ')

  useEffect(() => {
    if (!accountId) return
    let live = true
    const load = async () => {
      for (const token of tokenList.split(' ').filter(Boolean).reverse()) {
        try {
          const list = await call(
            api().booking.GET('/v1/accounts/{accountId}/reservations', {
              params: { path: { accountId } },
              headers: bearer(token),
            }),
          )
          if (live) setRows(list)
          return
        } catch (failure) {
          if (!(failure instanceof ApiError) || !STALE_TOKEN.has(failure.code)) {
            if (live) setError(failure as ApiError)
            return
          }
        }
      }
      if (live) setNoToken(true)
    }
    void load()
    return () => {
      live = false
    }
  }, [accountId, tokenList])

  if (!accountId) {
    return (
      <Screen title="My reservations">
        <p>
          <Link href="/account">Choose your account</Link> to see your reservations.
        </p>
      </Screen>
    )
  }
  return (
    <Screen title="My reservations">
      {error && <ProblemAlert error={error} />}
      {noToken && (
        <p>
          Your reservations are shown while you hold a place in a queue or right after you paid.{' '}
          <Link href="/">Join a queue</Link> to see them.
        </p>
      )}
      {!rows && !error && !noToken && <p aria-live="polite">Loading your reservations…</p>}
      {rows?.length === 0 && <p>You have no reservations yet.</p>}
      {rows && rows.length > 0 && (
        <table class="table">
          <caption>
            Seats you have bought (a refunded one is no longer yours: its price is back on your balance)
          </caption>
          <thead>
            <tr>
              <th scope="col">Concert</th>
              <th scope="col">Date</th>
              <th scope="col">Seat</th>
              <th scope="col" class="number">
                Price
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr
                key={row.reservationId}
                data-status={row.status}
                class={row.status === 'REFUNDED' ? 'muted' : undefined}
              >
                <td>{row.eventTitle}</td>
                <td>
                  {formatDate(row.date)} {formatTime(row.startTime)}
                </td>
                <td>
                  {row.seatNumber} ({row.area}, {row.seatType})
                </td>
                <td class="number">{formatWon(row.price)}</td>
                <td>
                  {row.status === 'REFUNDED'
                    ? `Refunded${row.refundedAt ? ` on ${formatInstant(row.refundedAt)}` : ''}`
                    : 'Paid'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Screen>
  )
}
