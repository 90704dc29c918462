import { useEffect, useState } from 'preact/hooks'
import { Link, useLocation } from 'wouter-preact'
import { type ApiError, api, call } from '../api'
import { serverNow } from '../clock'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { eventTitle, useEvents } from '../events'
import { formatClock, formatInstant, formatWait } from '../format'
import { useSecondsUntil } from '../hooks'
import { dropTicket, getSession, holdTicket, updateSession, useSession } from '../session'
import {
  endedMessage,
  jittered,
  type LiveTicket,
  progressOf,
  saleNotOpenRetryMs,
  waitingView,
} from '../ticket'
import { type FeedConnection, useTicketFeed } from '../ticket-feed'

/** Problems after which joining again by itself is the right thing (busy or unreachable service). */
const RETRYABLE = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'NETWORK_ERROR'])
const DEFAULT_RETRY_SECONDS = 3

/**
 * Step 3: join the event's queue and wait. Joining is idempotent (SPEC §4: the
 * account's live ticket comes back), so entering this screen again, or reloading
 * it, keeps the same token and place.
 */
export function WaitingRoomScreen({ eventId }: { eventId: number }) {
  const session = useSession()
  const [, navigate] = useLocation()
  const { events } = useEvents()
  const [ticket, setTicket] = useState<LiveTicket | undefined>(undefined)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  const accountId = session.account?.id

  useEffect(() => {
    if (!accountId) {
      updateSession(() => ({ pendingEventId: eventId }))
      navigate('/account', { replace: true })
      return
    }
    let live = true
    let retry: ReturnType<typeof setTimeout> | undefined
    setError(undefined)
    call(api().gateway.POST('/v1/queue/tokens', { body: { accountId, eventId } })).then(
      (joined) => {
        if (!live) return
        holdTicket(eventId, joined.token, joined.position)
        setTicket(joined as LiveTicket)
      },
      (failure: ApiError) => {
        if (!live) return
        setError(failure)
        if (RETRYABLE.has(failure.code)) {
          retry = setTimeout(
            () => setAttempt((n) => n + 1),
            (failure.retryAfter ?? DEFAULT_RETRY_SECONDS) * 1000,
          )
        } else if (failure.code === 'SALE_NOT_OPEN') {
          const opensAt = failure.problem?.opensAt
          retry = setTimeout(
            () => setAttempt((n) => n + 1),
            jittered(saleNotOpenRetryMs(typeof opensAt === 'string' ? opensAt : undefined, serverNow())),
          )
        }
      },
    )
    return () => {
      live = false
      clearTimeout(retry)
    }
  }, [accountId, eventId, attempt, navigate])

  const title = `Queue: ${eventTitle(events, eventId)}`
  return (
    <Screen title={title}>
      {error && (
        <ProblemAlert error={error}>
          {RETRYABLE.has(error.code) ? (
            <p>We will try again by ourselves.</p>
          ) : error.code === 'SALE_NOT_OPEN' ? (
            <>
              <p>
                The waiting room opens a little before the sale. Keep this page open: we will join you by
                ourselves as soon as it does, and everyone in it by the opening gets a place ahead of those
                who come later.
              </p>
              <div class="actions">
                <Link href="/">Back to events</Link>
              </div>
            </>
          ) : (
            <div class="actions">
              <button type="button" onClick={() => setAttempt((n) => n + 1)}>
                Try again
              </button>
              <Link href="/">Back to events</Link>
            </div>
          )}
        </ProblemAlert>
      )}
      {!ticket && !error && <p aria-live="polite">Joining the queue…</p>}
      {ticket && (
        <WaitingRoom
          key={ticket.token}
          initial={ticket}
          eventId={eventId}
          onJoinAgain={() => {
            setTicket(undefined)
            setAttempt((n) => n + 1)
          }}
        />
      )}
    </Screen>
  )
}

const CONNECTION_TEXT: Record<FeedConnection, string> = {
  connecting: 'Connecting…',
  live: 'Live: your place updates by itself.',
  polling: 'Checking your place every few seconds.',
  reconnecting: 'Connection lost. Reconnecting…',
}

function WaitingRoom({
  initial,
  eventId,
  onJoinAgain,
}: {
  initial: LiveTicket
  eventId: number
  onJoinAgain: () => void
}) {
  const [, navigate] = useLocation()
  const { ticket, connection, problem } = useTicketFeed(initial)
  const [leaving, setLeaving] = useState(false)
  const [leaveError, setLeaveError] = useState<ApiError | undefined>(undefined)
  const [left, setLeft] = useState(false)
  // A token the gateway no longer knows (it ended long ago): nothing left to follow.
  const forgotten = problem?.code === 'TOKEN_NOT_FOUND'
  const view = left
    ? ({ kind: 'ended', reason: 'LEFT' } as const)
    : forgotten
      ? ({ kind: 'ended', reason: null } as const)
      : waitingView(ticket)
  const firstPosition = getSession().tickets[eventId]?.firstPosition ?? null

  useEffect(() => {
    // The first real place (after a pre-queue draw, SPEC §8) is what the progress bar counts from.
    if (ticket.position !== null && ticket.position > 0) holdTicket(eventId, ticket.token, ticket.position)
    // Replacing this page: Back from the seat map goes where the fan came from, not to a
    // waiting room that would send them straight back (or, once they paid, queue them again).
    if (ticket.status === 'READY') navigate(`/events/${eventId}/buy`, { replace: true })
  }, [ticket, eventId, navigate])

  const leave = async () => {
    setLeaving(true)
    setLeaveError(undefined)
    try {
      await call(
        api().gateway.DELETE('/v1/queue/tokens/{token}', { params: { path: { token: ticket.token } } }),
      )
      dropTicket(eventId)
      setLeft(true)
    } catch (failure) {
      setLeaveError(failure as ApiError)
    } finally {
      setLeaving(false)
    }
  }

  const stillWaiting = view.kind === 'waiting' || view.kind === 'pre-queue'
  return (
    <div class="waiting-room">
      <div role="status" aria-live="polite" class="queue-state">
        {view.kind === 'pre-queue' && <PreQueue opensAt={view.opensAt} />}
        {view.kind === 'waiting' && (
          <QueuePlace
            position={view.position}
            eta={ticket.estimatedWaitSeconds}
            paused={view.paused}
            firstPosition={firstPosition}
          />
        )}
        {view.kind === 'ready' && <p class="headline">It’s your turn! Opening the seat map…</p>}
        {view.kind === 'sold-out' && (
          <>
            <p class="headline">Sold out</p>
            <p>Every seat of this event has been sold. We are sorry you missed out this time.</p>
          </>
        )}
        {view.kind === 'closed' && (
          <>
            <p class="headline">The sale has closed</p>
            <p>Tickets for this event are no longer sold here.</p>
          </>
        )}
        {view.kind === 'ended' && <p class="headline">{endedMessage(view.reason)}</p>}
      </div>

      {stillWaiting && !left && (
        <p class="connection" data-connection={connection}>
          {CONNECTION_TEXT[connection]}
        </p>
      )}
      {problem && problem.code !== 'NETWORK_ERROR' && !forgotten && <ProblemAlert error={problem} />}
      {leaveError && <ProblemAlert error={leaveError} />}

      <div class="actions">
        {stillWaiting && !left && (
          <button type="button" onClick={leave} disabled={leaving}>
            {leaving ? 'Leaving…' : 'Leave the queue'}
          </button>
        )}
        {view.kind === 'ended' && view.reason !== 'COMPLETED' && (
          <button type="button" class="primary" onClick={onJoinAgain}>
            Join the queue again
          </button>
        )}
        {!stillWaiting && <Link href="/">Back to events</Link>}
      </div>
    </div>
  )
}

function QueuePlace({
  position,
  eta,
  paused,
  firstPosition,
}: {
  position: number
  eta: number | null
  paused: boolean
  firstPosition: number | null
}) {
  const progress = progressOf(firstPosition, position)
  return (
    <>
      {paused && (
        <p class="notice notice-warning">
          The organiser has paused the sale. You keep your place, and the queue moves on as soon as it
          resumes.
        </p>
      )}
      <p class="place">
        <span class="place-label">Your place in line</span>
        <span class="place-number" data-testid="position">
          {position}
        </span>
      </p>
      <p>
        {position <= 1
          ? 'You are next.'
          : `${position - 1} ${position === 2 ? 'person is' : 'people are'} ahead of you.`}{' '}
        {eta !== null && !paused ? `Estimated wait: ${formatWait(eta)}.` : ''}
      </p>
      <label class="progress">
        <span>Progress to the front</span>
        <progress max={100} value={Math.round(progress * 100)}>
          {Math.round(progress * 100)}%
        </progress>
      </label>
      <p class="muted">Keep this page open: we move you to the seat map as soon as it is your turn.</p>
    </>
  )
}

function PreQueue({ opensAt }: { opensAt: string | undefined }) {
  const seconds = useSecondsUntil(opensAt)
  return (
    <>
      <p class="headline">The sale has not opened yet</p>
      {seconds !== undefined && opensAt && (
        <p>
          Opens in{' '}
          <span class="countdown" role="timer" aria-live="off" data-testid="opens-in">
            {formatClock(seconds)}
          </span>{' '}
          (at {formatInstant(opensAt)}).
        </p>
      )}
      <p>
        You are in the waiting room. Everyone here before the opening gets a place drawn at random when the
        sale opens, so there is no need to hurry or to reload.
      </p>
    </>
  )
}
