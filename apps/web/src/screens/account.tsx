import { useState } from 'preact/hooks'
import { useLocation } from 'wouter-preact'
import { ApiError, api, call } from '../api'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { formatWon } from '../format'
import { signIn, signOut, updateSession, useSession } from '../session'

/** The accounts `pnpm start` seeds (packages/db demo data), offered for a quick try. */
const DEMO_ACCOUNTS = [
  { id: 'demo-alice', name: 'Alice' },
  { id: 'demo-bob', name: 'Bob' },
  { id: 'demo-carol', name: 'Carol' },
]

/**
 * Step 2: sign up, or use a demo account; then on to the event picked before, if any.
 * With account auth on (SPEC §11) the site's login decides who the fan is: sign-up
 * creates the account its cookie names, and there are no demo accounts to pick.
 */
export function AccountScreen() {
  const session = useSession()
  const [, navigate] = useLocation()
  const [email, setEmail] = useState('')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  /** Sign-up found the signed-in fan's account already there: the page went on with it. */
  const [existing, setExisting] = useState(false)
  const { accountAuth } = api()

  /** On to the event the fan picked before choosing an account, or back to the events. */
  const proceed = (pending = session.pendingEventId) => {
    updateSession(() => ({ pendingEventId: undefined }))
    navigate(pending ? `/events/${pending}/queue` : '/')
  }

  const signUp = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    setExisting(false)
    try {
      const account = await call(
        api().booking.POST('/v1/accounts', { body: { email: email.trim(), name: name.trim() } }),
      )
      const pending = session.pendingEventId
      signIn({ id: account.id, name: account.name }, account.balance)
      proceed(pending)
    } catch (failure) {
      const accountId = existingAccountOf(failure)
      if (accountId) {
        // The login's account exists already (made earlier, or on another device): it is
        // this fan's, so carry on with it; what it holds is read when the queue is joined.
        const pending = session.pendingEventId
        signIn({ id: accountId, name: name.trim() }, undefined)
        updateSession(() => ({ pendingEventId: pending }))
        setExisting(true)
      } else {
        setError(failure as ApiError)
      }
    } finally {
      setBusy(false)
    }
  }

  const chooseDemo = (account: { id: string; name: string }) => {
    const pending = session.pendingEventId
    signIn(account, undefined)
    proceed(pending)
  }

  return (
    <Screen title="Your account">
      {session.account && (
        <div class="notice" role="status">
          {existing && <p>You already have an account, so this page goes on with it.</p>}
          <p>
            You are using the account of <strong>{session.account.name}</strong>
            {session.balance !== undefined ? ` (balance ${formatWon(session.balance)})` : ''}.
          </p>
          <div class="actions">
            <button type="button" class="primary" onClick={() => proceed()}>
              Continue as {session.account.name}
            </button>
            <button
              type="button"
              onClick={() => {
                setExisting(false)
                signOut()
              }}
            >
              Use another account
            </button>
          </div>
        </div>
      )}
      <form class="panel" onSubmit={signUp} aria-labelledby="sign-up-title">
        <h2 id="sign-up-title">Sign up</h2>
        {accountAuth && (
          <p>
            Your ticket account is the one you are signed in to this site with. If you already have it, this
            page goes on with it.
          </p>
        )}
        <label for="sign-up-name">Name</label>
        <input
          id="sign-up-name"
          name="name"
          autocomplete="name"
          required
          maxLength={64}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <label for="sign-up-email">Email</label>
        <input
          id="sign-up-email"
          name="email"
          type="email"
          autocomplete="email"
          required
          maxLength={128}
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        {error instanceof ApiError && <ProblemAlert error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing up…' : 'Sign up'}
        </button>
      </form>
      {!accountAuth && (
        <section class="panel" aria-labelledby="demo-title">
          <h2 id="demo-title">Or try a demo account</h2>
          <ul class="demo-accounts">
            {DEMO_ACCOUNTS.map((account) => (
              <li key={account.id}>
                <button type="button" onClick={() => chooseDemo(account)}>
                  Use {account.name}’s account
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Screen>
  )
}

/** The account a 409 ACCOUNT_EXISTS names: with auth on, the signed-in fan's own (SPEC §11). */
function existingAccountOf(failure: unknown): string | undefined {
  if (!(failure instanceof ApiError) || failure.code !== 'ACCOUNT_EXISTS') return undefined
  const accountId = failure.problem?.accountId
  return typeof accountId === 'string' && accountId !== '' ? accountId : undefined
}
