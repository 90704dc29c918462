import type { Event } from '@concert/client'
import { useEffect, useState } from 'preact/hooks'
import { type ApiError, api, call } from './api'

let cached: Event[] | undefined

/**
 * The events on sale (public, SPEC §3), fetched once per page load; with `fresh` (the
 * events screen, whose buttons follow each sale's state) also each time it mounts and
 * each time the page is shown again, the last list shown meanwhile: a sale that sold out
 * and reopened after a refund takes joins again without a reload.
 */
export function useEvents(options: { fresh?: boolean } = {}): {
  events: Event[] | undefined
  error: ApiError | undefined
  reload: () => void
} {
  const fresh = options.fresh ?? false
  const [events, setEvents] = useState(cached)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    if (!fresh) return
    const shown = () => {
      if (document.visibilityState === 'visible') setAttempt((n) => n + 1)
    }
    document.addEventListener('visibilitychange', shown)
    return () => document.removeEventListener('visibilitychange', shown)
  }, [fresh])
  useEffect(() => {
    if (cached && attempt === 0 && !fresh) return
    let live = true
    call(api().booking.GET('/v1/events')).then(
      (list) => {
        cached = list
        if (live) {
          setEvents(list)
          setError(undefined)
        }
      },
      (failure: ApiError) => live && setError(failure),
    )
    return () => {
      live = false
    }
  }, [attempt, fresh])
  return { events, error, reload: () => setAttempt((n) => n + 1) }
}

export function eventTitle(events: Event[] | undefined, eventId: number): string {
  return events?.find((event) => event.id === eventId)?.title ?? `Event ${eventId}`
}
