import type { Event } from '@concert/client'
import { useEffect, useState } from 'preact/hooks'
import { type ApiError, api, call } from './api'

let cached: Event[] | undefined

/** The events on sale (public, SPEC §3), fetched once per page load. */
export function useEvents(): {
  events: Event[] | undefined
  error: ApiError | undefined
  reload: () => void
} {
  const [events, setEvents] = useState(cached)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    if (cached && attempt === 0) return
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
  }, [attempt])
  return { events, error, reload: () => setAttempt((n) => n + 1) }
}

export function eventTitle(events: Event[] | undefined, eventId: number): string {
  return events?.find((event) => event.id === eventId)?.title ?? `Event ${eventId}`
}
