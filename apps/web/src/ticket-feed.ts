import { ticketStreamUrl } from '@concert/client'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, api, call } from './api'
import { type LiveTicket, pollDelay } from './ticket'

/**
 * How the waiting room hears about its ticket:
 * - `live`: the Server-Sent Events stream is open;
 * - `polling`: no stream (the gateway refused one, e.g. 429 past the per-token cap), polls instead;
 * - `reconnecting`: the connection broke; polls as well and the stream reconnects.
 */
export type FeedConnection = 'connecting' | 'live' | 'polling' | 'reconnecting'

export interface TicketFeed {
  ticket: LiveTicket
  connection: FeedConnection
  /** The last problem a poll answered (e.g. TOKEN_NOT_FOUND), when polling. */
  problem: ApiError | undefined
}

/** A stream the gateway refused is tried again after this long (polls go on meanwhile). */
const STREAM_RETRY_MS = 5_000
/** After a failed poll (network down, 503), ask again this soon. */
const RETRY_POLL_MS = 2_000

/**
 * Follows a ticket live: SSE first (SPEC §3, `event: ticket` on every change),
 * polling (`pollAfterMs`, at most POLL_MAX_MS apart) whenever the stream is down. The browser's EventSource
 * reconnects by itself after a network blip; when the gateway refuses a stream
 * outright (an HTTP error closes EventSource for good) a new one is opened after
 * a pause. Polls also keep a WAITING token alive while the stream is away.
 * Everything stops once the ticket is EXPIRED.
 */
export function useTicketFeed(initial: LiveTicket): TicketFeed {
  const [ticket, setTicket] = useState(initial)
  const [connection, setConnection] = useState<FeedConnection>('connecting')
  const [problem, setProblem] = useState<ApiError | undefined>(undefined)
  const token = initial.token

  useEffect(() => {
    let stopped = false
    let source: EventSource | undefined
    let pollTimer: ReturnType<typeof setTimeout> | undefined
    let streamRetryTimer: ReturnType<typeof setTimeout> | undefined
    let latest = initial

    const stop = () => {
      stopped = true
      source?.close()
      clearTimeout(pollTimer)
      clearTimeout(streamRetryTimer)
    }

    const apply = (next: LiveTicket) => {
      if (stopped) return
      latest = next
      setTicket(next)
      if (next.status === 'EXPIRED') stop()
    }

    // Each polling run has a number; stopping (or restarting) polling retires the run in flight.
    let pollRun = 0
    let polling = false

    const poll = async (run: number) => {
      let delay = pollDelay(latest)
      try {
        const next = await call(
          api().gateway.GET('/v1/queue/tokens/{token}', { params: { path: { token } } }),
        )
        if (stopped || run !== pollRun) return
        setProblem(undefined)
        setConnection('polling')
        apply(next as LiveTicket)
      } catch (error) {
        if (stopped || run !== pollRun) return
        const failure =
          error instanceof ApiError ? error : new ApiError('UNEXPECTED', 0, undefined, undefined)
        setProblem(failure)
        // The token is gone for good: nothing left to follow.
        if (failure.code === 'TOKEN_NOT_FOUND') return stop()
        if (failure.code === 'NETWORK_ERROR') setConnection('reconnecting')
        delay = RETRY_POLL_MS
      }
      if (!stopped && run === pollRun) pollTimer = setTimeout(() => void poll(run), delay)
    }

    const startPolling = () => {
      if (stopped || polling) return
      polling = true
      pollRun += 1
      const run = pollRun
      pollTimer = setTimeout(() => void poll(run), 0)
    }
    const stopPolling = () => {
      polling = false
      pollRun += 1
      clearTimeout(pollTimer)
    }

    const openStream = () => {
      if (stopped) return
      const stream = new EventSource(ticketStreamUrl(api().gatewayUrl, token))
      source = stream
      stream.addEventListener('ticket', (event) => {
        setConnection('live')
        setProblem(undefined)
        stopPolling()
        apply(JSON.parse((event as MessageEvent<string>).data) as LiveTicket)
      })
      stream.onopen = () => {
        setConnection('live')
        stopPolling()
      }
      stream.onerror = () => {
        if (stopped) return
        if (stream.readyState === EventSource.CLOSED) {
          // Refused with an HTTP error (429, 404, 503): poll, and ask for a stream again later.
          setConnection('polling')
          startPolling()
          streamRetryTimer = setTimeout(openStream, STREAM_RETRY_MS)
        } else {
          // The connection broke; EventSource is reconnecting. Poll so the place stays fresh meanwhile.
          setConnection('reconnecting')
          startPolling()
        }
      }
    }

    if (initial.status === 'EXPIRED') return stop
    if (typeof EventSource === 'function') openStream()
    else {
      setConnection('polling')
      startPolling()
    }
    return stop
    // One feed per token: `initial` is only its starting point, so a new ticket does not restart the stream.
  }, [token])

  return { ticket, connection, problem }
}
