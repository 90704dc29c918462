import { Link, Route, Router, Switch } from 'wouter-preact'
import { useHashLocation } from 'wouter-preact/use-hash-location'
import { Screen } from './components/screen'
import { formatWon } from './format'
import { AccountScreen } from './screens/account'
import { BuyScreen } from './screens/buy'
import { ConfirmationScreen } from './screens/confirmation'
import { EventsScreen } from './screens/events'
import { ReservationsScreen } from './screens/reservations'
import { TopUpScreen } from './screens/top-up'
import { WaitingRoomScreen } from './screens/waiting-room'
import { useSession } from './session'

/** Route parameters are strings; ids are positive integers (SPEC §3). */
function idParam(value: string | undefined): number | undefined {
  const id = Number(value)
  return Number.isSafeInteger(id) && id > 0 ? id : undefined
}

function NotFound() {
  return (
    <Screen title="Page not found">
      <p>
        There is nothing here. <Link href="/">See the concerts on sale</Link>.
      </p>
    </Screen>
  )
}

function Header() {
  const session = useSession()
  return (
    <header class="site-header">
      <Link href="/" class="brand">
        Concert tickets
      </Link>
      <nav aria-label="Main">
        <ul>
          <li>
            <Link href="/">Events</Link>
          </li>
          <li>
            <Link href="/top-up">Top up</Link>
          </li>
          <li>
            <Link href="/reservations">My reservations</Link>
          </li>
          <li>
            <Link href="/account" class="account-chip">
              {session.account
                ? `${session.account.name}${session.balance === undefined ? '' : ` · ${formatWon(session.balance)}`}`
                : 'Sign up'}
            </Link>
          </li>
        </ul>
      </nav>
    </header>
  )
}

/**
 * The fan web app (SPEC §10). Hash routes (`#/events/1/queue`) keep every screen
 * reachable by reload and back button while the gateway serves one index.html.
 */
export function App() {
  return (
    <Router hook={useHashLocation}>
      <button type="button" class="skip-link" onClick={skipToMain}>
        Skip to content
      </button>
      <Header />
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/" component={EventsScreen} />
          <Route path="/account" component={AccountScreen} />
          <Route path="/events/:eventId/queue">
            {(params) => {
              const eventId = idParam(params.eventId)
              return eventId ? <WaitingRoomScreen key={eventId} eventId={eventId} /> : <NotFound />
            }}
          </Route>
          <Route path="/events/:eventId/buy">
            {(params) => {
              const eventId = idParam(params.eventId)
              return eventId ? <BuyScreen key={eventId} eventId={eventId} /> : <NotFound />
            }}
          </Route>
          <Route path="/confirmation" component={ConfirmationScreen} />
          <Route path="/reservations" component={ReservationsScreen} />
          <Route path="/top-up" component={TopUpScreen} />
          <Route component={NotFound} />
        </Switch>
      </main>
    </Router>
  )
}

/** A button, not `<a href="#main">`: with hash routes that link would be read as a route. */
function skipToMain() {
  document.getElementById('main')?.focus()
}
