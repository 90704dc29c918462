import { useState } from 'preact/hooks'
import { Link } from 'wouter-preact'
import { type ApiError, api, call, idempotencyKey } from '../api'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { formatWon } from '../format'
import { updateSession, useSession } from '../session'

const PRESETS = [50_000, 100_000, 300_000]
const MAX_TOP_UP = 10_000_000

/** Balance top-up (no queue token needed, SPEC §3). Each top-up has its own Idempotency-Key. */
export function TopUpScreen() {
  const session = useSession()
  const [amount, setAmount] = useState('100000')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [done, setDone] = useState<{ charged: number; balance: number } | undefined>(undefined)
  const [key, setKey] = useState(idempotencyKey)
  const accountId = session.account?.id
  // The seat map the fan came from (its order kept there), else the last queue joined.
  const readyEvent = session.draft?.eventId ?? Object.values(session.tickets).at(-1)?.eventId

  if (!accountId) {
    return (
      <Screen title="Top up your balance">
        <p>
          <Link href="/account">Choose your account</Link> first.
        </p>
      </Screen>
    )
  }

  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    setDone(undefined)
    try {
      const answer = await call(
        api().booking.POST('/v1/accounts/{accountId}/balance/charge', {
          params: { path: { accountId }, header: { 'idempotency-key': key } },
          body: { amount: Number(amount) },
        }),
      )
      updateSession(() => ({ balance: answer.balance }))
      setDone({ charged: answer.charged, balance: answer.balance })
      // The next top-up is a new one; a retry of this one (after a network error) kept the same key.
      setKey(idempotencyKey())
    } catch (failure) {
      setError(failure as ApiError)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Screen title="Top up your balance">
      <p class="balance-line">
        Your balance:{' '}
        <strong data-testid="balance">
          {session.balance === undefined ? 'not known yet' : formatWon(session.balance)}
        </strong>
      </p>
      <form class="panel" onSubmit={submit}>
        <fieldset class="presets">
          <legend>Quick amounts</legend>
          {PRESETS.map((preset) => (
            <button
              key={preset}
              type="button"
              aria-pressed={Number(amount) === preset}
              onClick={() => setAmount(String(preset))}
            >
              {formatWon(preset)}
            </button>
          ))}
        </fieldset>
        <label for="top-up-amount">Amount in won</label>
        <input
          id="top-up-amount"
          name="amount"
          type="number"
          inputMode="numeric"
          min={1}
          max={MAX_TOP_UP}
          step={1}
          required
          value={amount}
          onInput={(e) => setAmount(e.currentTarget.value)}
        />
        {error && <ProblemAlert error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Adding…' : `Add ${Number(amount) > 0 ? formatWon(Number(amount)) : 'money'}`}
        </button>
      </form>
      <div aria-live="polite">
        {done && (
          <p class="notice notice-success">
            Added {formatWon(done.charged)}. Your balance is now {formatWon(done.balance)}.
          </p>
        )}
      </div>
      {readyEvent !== undefined && (
        <p>
          <Link href={`/events/${readyEvent}/buy`}>Back to your seats</Link>
        </p>
      )}
    </Screen>
  )
}
