import type { Event } from '@concert/client'
import { useLocation } from 'wouter-preact'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { useEvents } from '../events'
import { formatDate, formatInstant } from '../format'
import { updateSession, useSession } from '../session'

/** The sale's state as the list says it (SPEC §8), where it is not simply open. */
function saleBadge(event: Event): string | undefined {
  switch (event.state) {
    case 'SCHEDULED':
    case 'PRE_QUEUE':
      return event.opensAt ? `Opens ${formatInstant(event.opensAt)}` : 'Opens soon'
    case 'PAUSED':
      return 'Sale paused'
    case 'SOLD_OUT':
      return 'Sold out'
    case 'CLOSED':
      return 'Sale closed'
    default:
      return undefined
  }
}

/** Step 1: pick an event. Joining asks for an account first when there is none. */
export function EventsScreen() {
  const { events, error, reload } = useEvents({ fresh: true })
  const session = useSession()
  const [, navigate] = useLocation()

  const join = (eventId: number) => {
    if (session.account) return navigate(`/events/${eventId}/queue`)
    updateSession(() => ({ pendingEventId: eventId }))
    navigate('/account')
  }

  return (
    <Screen title="Concerts on sale">
      {error && (
        <ProblemAlert error={error}>
          <button type="button" onClick={reload}>
            Try again
          </button>
        </ProblemAlert>
      )}
      {!events && !error && <p aria-live="polite">Loading events…</p>}
      {events && events.length === 0 && <p>No concerts are on sale right now.</p>}
      <ul class="cards">
        {events?.map((event) => {
          const badge = saleBadge(event)
          const closed = event.state === 'SOLD_OUT' || event.state === 'CLOSED'
          return (
            <li key={event.id} class="card">
              <h2>{event.title}</h2>
              <p class="muted">
                {event.venue.name} · {formatDate(event.startDate)}
                {event.endDate !== event.startDate ? ` – ${formatDate(event.endDate)}` : ''}
              </p>
              {badge && <p class="badge">{badge}</p>}
              <button
                type="button"
                class="primary"
                disabled={closed}
                onClick={() => join(event.id)}
                aria-label={`Join the queue for ${event.title}`}
              >
                Join the queue
              </button>
            </li>
          )
        })}
      </ul>
    </Screen>
  )
}
