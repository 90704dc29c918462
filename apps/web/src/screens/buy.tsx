import { bearer, type Schedule, type Seat, type SeatMap as SeatMapData } from '@concert/client'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { Link, useLocation } from 'wouter-preact'
import { type ApiError, api, call, idempotencyKey } from '../api'
import { DatePicker } from '../components/date-picker'
import { OrderSummary } from '../components/order-summary'
import { ProblemAlert } from '../components/problem-alert'
import { Screen } from '../components/screen'
import { isBuyable, SeatMap } from '../components/seat-map'
import { isUnsure, payUntilAnswered } from '../confirm-payment'
import { eventTitle, useEvents } from '../events'
import { formatClock, formatDate, formatTime, formatWon } from '../format'
import { useInterval, useSecondsUntil } from '../hooks'
import { purchasedSeats, reservationBody } from '../orders'
import { dropTicket, updateSession, useSession } from '../session'
import { endedMessage, type LiveTicket } from '../ticket'

/** How often the seat map is read again while the fan looks at it (sold seats appear within this). */
const SEAT_MAP_REFRESH_MS = 2_000
/** How often the dates' seats-left counts are read again. */
const SCHEDULES_REFRESH_MS = 10_000
/** Below this many seconds the buying countdown turns urgent. */
const HURRY_SECONDS = 60

/**
 * Step 4 (READY): the buying window. Reads the ticket to learn when the window
 * closes, then shows the dates, the live seat map and the order with its Pay button.
 */
export function BuyScreen({ eventId }: { eventId: number }) {
  const session = useSession()
  const [, navigate] = useLocation()
  const { events } = useEvents()
  const held = session.tickets[eventId]
  const [ticket, setTicket] = useState<LiveTicket | undefined>(undefined)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  const token = held?.token

  useEffect(() => {
    if (!token) {
      navigate(`/events/${eventId}/queue`, { replace: true })
      return
    }
    let live = true
    call(api().gateway.GET('/v1/queue/tokens/{token}', { params: { path: { token } } })).then(
      (current) => {
        if (!live) return
        if (current.status === 'WAITING') navigate(`/events/${eventId}/queue`, { replace: true })
        else setTicket(current as LiveTicket)
      },
      (failure: ApiError) => live && setError(failure),
    )
    return () => {
      live = false
    }
  }, [token, eventId, navigate, attempt])

  const joinAgain = () => {
    dropTicket(eventId)
    navigate(`/events/${eventId}/queue`)
  }
  return (
    <Screen title={`Pick your seats: ${eventTitle(events, eventId)}`}>
      {error && (
        <ProblemAlert error={error}>
          <div class="actions">
            {error.code === 'TOKEN_NOT_FOUND' ? (
              // The token ended long enough ago to be forgotten: only a new place helps.
              <button type="button" class="primary" onClick={joinAgain}>
                Join the queue again
              </button>
            ) : (
              <button
                type="button"
                onClick={() => {
                  setError(undefined)
                  setAttempt((n) => n + 1)
                }}
              >
                Try again
              </button>
            )}
            <Link href="/">Back to events</Link>
          </div>
        </ProblemAlert>
      )}
      {!ticket && !error && <p aria-live="polite">Checking your turn…</p>}
      {ticket?.status === 'EXPIRED' && (
        <div class="notice" role="status">
          <p>{endedMessage(ticket.reason)}</p>
          <div class="actions">
            <button type="button" class="primary" onClick={() => navigate(`/events/${eventId}/queue`)}>
              Join the queue again
            </button>
            <Link href="/">Back to events</Link>
          </div>
        </div>
      )}
      {ticket?.status === 'READY' && (
        <BuyingWindow
          ticket={ticket}
          eventId={eventId}
          eventTitle={eventTitle(events, eventId)}
          onEnded={(next) => setTicket(next)}
        />
      )}
    </Screen>
  )
}

function BuyingWindow({
  ticket,
  eventId,
  eventTitle: title,
  onEnded,
}: {
  ticket: LiveTicket
  eventId: number
  eventTitle: string
  onEnded: (ticket: LiveTicket) => void
}) {
  const session = useSession()
  const [, navigate] = useLocation()
  const token = ticket.token
  const secondsLeft = useSecondsUntil(ticket.expiresAt)
  const timeUp = secondsLeft === 0
  // The order picked before a trip to the top-up page (or a reload) comes back as it was.
  const draft = session.draft?.eventId === eventId ? session.draft : undefined
  const [schedules, setSchedules] = useState<Schedule[] | undefined>(undefined)
  const [scheduleId, setScheduleId] = useState<number | undefined>(draft?.scheduleId)
  const [seatMap, setSeatMap] = useState<SeatMapData | undefined>(undefined)
  const [selected, setSelected] = useState<ReadonlySet<number>>(() => new Set(draft?.seatIds))
  // The selection as of now, for answers that arrive after a render (the seat map refresh).
  const selectedNow = useRef<ReadonlySet<number>>(selected)
  const select = (seatIds: Iterable<number>) => {
    selectedNow.current = new Set(seatIds)
    setSelected(selectedNow.current)
  }
  useEffect(() => {
    if (scheduleId === undefined) return
    updateSession(() => ({ draft: { eventId, scheduleId, seatIds: [...selected] } }))
  }, [eventId, scheduleId, selected])
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [problem, setProblem] = useState<ApiError | undefined>(undefined)
  /** The last refresh of the dates or the seat map that failed; gone once one succeeds. */
  const [readProblem, setReadProblem] = useState<ApiError | undefined>(undefined)
  /** The show picked now, for seat-map answers that arrive after another was picked. */
  const scheduleNow = useRef<number | undefined>(undefined)
  const [paying, setPayingState] = useState(false)
  /** Whether a payment is out, for answers that arrive after a render. */
  const payingNow = useRef(false)
  const setPaying = (value: boolean) => {
    payingNow.current = value
    setPayingState(value)
  }
  const keyOfOrder = useRef<{ order: string; key: string } | undefined>(undefined)
  /** Seats of an order whose payment could not be confirmed: if they show sold, maybe to this fan. */
  const unconfirmed = useRef<ReadonlySet<number>>(new Set())
  /** False once the fan left this page: a payment being confirmed stops asking. */
  const mounted = useRef(true)
  useEffect(
    () => () => {
      mounted.current = false
    },
    [],
  )
  // The event's seats per order (SPEC §9), as the seat map says: an operator may change it.
  const limit = seatMap?.maxSeatsPerOrder
  const auth = bearer(token)

  const loadBalance = () => {
    const accountId = session.account?.id
    if (!accountId) return
    call(
      api().booking.GET('/v1/accounts/{accountId}/balance', {
        params: { path: { accountId } },
        headers: auth,
      }),
    ).then(
      (answer) => updateSession(() => ({ balance: answer.balance })),
      () => {
        // The balance is a convenience here; payment answers say it anyway.
      },
    )
  }

  /** The token was refused: the window is over, with the reason the gateway gives (paid, timed out…). */
  const windowEnded = () =>
    call(api().gateway.GET('/v1/queue/tokens/{token}', { params: { path: { token } } })).then(
      (current) =>
        onEnded(
          current.status === 'EXPIRED'
            ? (current as LiveTicket)
            : { ...ticket, status: 'EXPIRED', reason: null },
        ),
      () => onEnded({ ...ticket, status: 'EXPIRED', reason: null }),
    )
  const tokenRefused = (failure: ApiError) =>
    failure.code === 'TOKEN_EXPIRED' || failure.code === 'TOKEN_INVALID'

  // A refresh that failed says so until one succeeds; one refused for the token ends the window.
  const readFailed = (failure: ApiError) => {
    // A read sent before a payment went out may come back refused after it committed.
    if (tokenRefused(failure)) return payingNow.current ? undefined : void windowEnded()
    setReadProblem(failure)
  }

  const loadSchedules = () =>
    call(
      api().booking.GET('/v1/events/{eventId}/schedules', { params: { path: { eventId } }, headers: auth }),
    ).then((list) => {
      setReadProblem(undefined)
      setSchedules(list)
      // A show kept from before that is no longer listed (started, or sold out): the first one.
      const listed = (id: number | undefined) => list.some((show) => show.scheduleId === id)
      if (scheduleNow.current !== undefined && !listed(scheduleNow.current)) select([])
      setScheduleId((current) => (listed(current) ? current : list[0]?.scheduleId))
    }, readFailed)

  const loadSeatMap = (id: number) =>
    call(
      api().booking.GET('/v1/schedules/{scheduleId}/seats', {
        params: { path: { scheduleId: id } },
        headers: auth,
      }),
    ).then((map) => {
      setReadProblem(undefined)
      if (map.scheduleId !== id || id !== scheduleNow.current) return
      setSeatMap(map)
      // A seat picked a moment ago may have been sold to someone else since.
      const gone = map.seats.filter(
        (seat) =>
          selectedNow.current.has(seat.seatId) && !isBuyable(seat) && !unconfirmed.current.has(seat.seatId),
      )
      if (gone.length === 0) return
      setNotice(
        `${gone.map((seat) => `Seat ${seat.seatNumber}`).join(', ')} ${gone.length === 1 ? 'was' : 'were'} just sold to another fan and removed from your order.`,
      )
      select([...selectedNow.current].filter((seatId) => !gone.some((seat) => seat.seatId === seatId)))
    }, readFailed)

  useEffect(loadBalance, [token])
  // A show picked (or the first one listed) shows its seats at once, not at the next refresh.
  useEffect(() => {
    scheduleNow.current = scheduleId
    if (scheduleId !== undefined && !timeUp) void loadSeatMap(scheduleId)
  }, [scheduleId])
  // Neither refresh runs while a payment is out: once it committed, the token is spent and a
  // read would be refused, which must not end the window before the payment's answer comes.
  useInterval(() => void loadSchedules(), SCHEDULES_REFRESH_MS, !timeUp && !paying)
  useInterval(
    () => scheduleId !== undefined && void loadSeatMap(scheduleId),
    SEAT_MAP_REFRESH_MS,
    !timeUp && !paying,
  )

  // While a payment is out (and being confirmed), the order and the show stay as sent.
  const pickSchedule = (id: number) => {
    if (id === scheduleId || paying) return
    setScheduleId(id)
    setSeatMap(undefined)
    select([])
    setNotice(undefined)
  }

  const toggle = (seat: Seat) => {
    if (paying) return
    setNotice(undefined)
    setProblem(undefined)
    if (selected.has(seat.seatId)) return select([...selected].filter((id) => id !== seat.seatId))
    if (limit === undefined) return
    // One seat per order: a new pick replaces the old one.
    if (limit === 1) return select([seat.seatId])
    if (selected.size >= limit) {
      return setNotice(
        `You can pick up to ${limit} seats in one order. Unselect a seat to pick Seat ${seat.seatNumber} instead.`,
      )
    }
    select([...selected, seat.seatId])
  }

  const chosen = useMemo(
    () => seatMap?.seats.filter((seat) => selected.has(seat.seatId)) ?? [],
    [seatMap, selected],
  )

  const pay = async () => {
    if (scheduleId === undefined || chosen.length === 0 || !seatMap) return
    const seatIds = chosen.map((seat) => seat.seatId).sort((a, b) => a - b)
    // The same order retried (say after a network error) keeps its key, so it is never paid twice.
    const order = `${scheduleId}:${seatIds.join(',')}`
    if (keyOfOrder.current?.order !== order) keyOfOrder.current = { order, key: idempotencyKey() }
    setPaying(true)
    setProblem(undefined)
    setNotice(undefined)
    const key = keyOfOrder.current.key
    try {
      const answer = await payUntilAnswered(
        () =>
          call(
            api().booking.POST('/v1/reservations', {
              params: { header: { 'idempotency-key': key } },
              headers: auth,
              body: reservationBody(scheduleId, seatIds),
            }),
          ),
        {
          onUnsure: () => setNotice('We could not confirm your payment yet. Checking again…'),
          stillHere: () => mounted.current,
        },
      )
      const seatsById = new Map(seatMap.seats.map((seat) => [seat.seatId, seat]))
      // Kept even if the fan left meanwhile: the purchase is theirs (My reservations shows it too).
      updateSession(() => ({
        balance: answer.balance,
        draft: undefined,
        lastPurchase: {
          eventId,
          eventTitle: title,
          scheduleId,
          date: seatMap.date,
          startTime: seatMap.startTime,
          seats: purchasedSeats(answer, (seatId) => seatsById.get(seatId)),
          total: answer.total,
          balance: answer.balance,
          reservedAt: answer.reservedAt,
        },
      }))
      if (mounted.current) navigate('/confirmation')
    } catch (failure) {
      const error = failure as ApiError
      setNotice(undefined)
      if (isUnsure(error)) {
        // Still no answer after every re-send: it may have gone through. Its seats are not
        // reported as sold to someone else, and a Pay of the same order resends the same key.
        unconfirmed.current = new Set(seatIds)
        setNotice(
          'We could not confirm your payment. It may have gone through: check My reservations before you pay again.',
        )
        return
      }
      setProblem(error)
      if (error.code === 'SEAT_ALREADY_RESERVED' || error.code === 'SEAT_LOCKED') {
        const taken = Array.isArray(error.problem?.seatIds) ? (error.problem.seatIds as number[]) : seatIds
        select([...selectedNow.current].filter((id) => !taken.includes(id)))
      }
      if (error.code === 'INSUFFICIENT_BALANCE') loadBalance()
      if (tokenRefused(error)) void windowEnded()
      void loadSeatMap(scheduleId)
    } finally {
      setPaying(false)
    }
  }

  const selectedSchedule = schedules?.find((schedule) => schedule.scheduleId === scheduleId)
  return (
    <div class="buying">
      <p class={`timer${secondsLeft !== undefined && secondsLeft <= HURRY_SECONDS ? ' timer-hurry' : ''}`}>
        {timeUp ? (
          <span role="alert">Your time to buy is up.</span>
        ) : (
          <>
            Time left to buy:{' '}
            <span role="timer" aria-live="off" data-testid="time-left">
              {secondsLeft === undefined ? '—' : formatClock(secondsLeft)}
            </span>
          </>
        )}
      </p>
      {timeUp && !paying && (
        <div class="actions">
          <button
            type="button"
            class="primary"
            onClick={() => onEnded({ ...ticket, status: 'EXPIRED', reason: 'TIMEOUT' })}
          >
            Continue
          </button>
        </div>
      )}
      <p class="balance-line">
        Your balance: <strong>{session.balance === undefined ? '…' : formatWon(session.balance)}</strong>{' '}
        <Link href="/top-up">Top up</Link>
      </p>

      <DatePicker schedules={schedules} chosen={scheduleId} onChoose={pickSchedule} />

      {selectedSchedule && (
        <section aria-labelledby="seat-map-title">
          <h2 id="seat-map-title">
            Seats on {formatDate(selectedSchedule.date)} at {formatTime(selectedSchedule.startTime)}
          </h2>
          {limit !== undefined && (
            <p class="muted">
              {limit === 1 ? 'Pick one seat.' : `Pick up to ${limit} seats.`} Sold seats update by themselves.
            </p>
          )}
          {seatMap ? (
            <SeatMap seats={seatMap.seats} selected={selected} onToggle={toggle} />
          ) : (
            <p>Loading seats…</p>
          )}
        </section>
      )}

      <div aria-live="polite">{notice && <p class="notice notice-warning">{notice}</p>}</div>
      {readProblem && !problem && <ProblemAlert error={readProblem} />}
      {problem && (
        <ProblemAlert error={problem}>
          {problem.code === 'INSUFFICIENT_BALANCE' && <Link href="/top-up">Top up your balance</Link>}
        </ProblemAlert>
      )}

      <OrderSummary seats={chosen} paying={paying} disabled={timeUp} onPay={pay} />
      {!timeUp && !paying && <GiveUpTurn token={token} eventId={eventId} />}
    </div>
  )
}

/**
 * Leaving before the window ends (DELETE of the token, SPEC §4): the READY slot goes to
 * the next fan at once instead of when the window runs out. Asked twice, since it cannot
 * be undone (the fan would queue again from the back).
 */
function GiveUpTurn({ token, eventId }: { token: string; eventId: number }) {
  const [, navigate] = useLocation()
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const giveUp = async () => {
    setBusy(true)
    setError(undefined)
    try {
      await call(api().gateway.DELETE('/v1/queue/tokens/{token}', { params: { path: { token } } }))
      dropTicket(eventId)
      updateSession(() => ({ draft: undefined }))
      navigate('/')
    } catch (failure) {
      setError(failure as ApiError)
      setBusy(false)
    }
  }
  return (
    <div class="give-up">
      {error && <ProblemAlert error={error} />}
      {asking ? (
        <div class="actions">
          <p id="give-up-question">
            Give up your turn? The next fan in the queue gets it. To buy later you would queue again from the
            back.
          </p>
          <button type="button" onClick={giveUp} disabled={busy}>
            {busy ? 'Giving up…' : 'Yes, give up my turn'}
          </button>
          <button type="button" class="primary" onClick={() => setAsking(false)} disabled={busy}>
            Keep my turn
          </button>
        </div>
      ) : (
        <button type="button" class="link-button" onClick={() => setAsking(true)}>
          Give up my turn
        </button>
      )}
    </div>
  )
}
