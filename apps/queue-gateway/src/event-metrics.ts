import type { Database } from '@concert/db'
import { perEventGauges } from '@concert/http'
import {
  countTokenOutcomes,
  type QueueFigures,
  type QueueService,
  queueFigures,
  SALE_STATES,
  type TokenTotals,
} from '@concert/queue'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'

/**
 * How long this copy shows a count of an event's QUEUE_TOKEN totals before counting
 * again: the count reads every row of the event (a second or more at a million tokens),
 * too much for every scrape of every copy; the live figures are read at each scrape.
 */
export const TOTALS_MAX_AGE_MS = 15_000

export interface EventMetricsOptions {
  queue: QueueService
  db: Kysely<Database>
  log: FastifyBaseLogger
  /** The events to show: those whose sale can still move (sale.ts#liveEventIds), so the label set stays bounded. */
  liveEvents: () => readonly number[]
}

type Figure = (figures: QueueFigures) => number

/**
 * The operator's live figures of each event (SPEC §7 `GET /v1/admin/events/{id}/queue`, the
 * seats aside: booking-api shows those) as gauges labelled `event`, read at scrape time: one
 * status script per live event (queueFigures, shared with the operator API), whose answer
 * every gauge below shares within a scrape.
 */
export function registerEventMetrics(registers: Registry[], options: EventMetricsOptions): void {
  const { queue, db, log } = options
  const counted = new Map<number, { at: number; totals: Promise<TokenTotals> }>()
  const lastCounted = new Map<number, TokenTotals>()
  const totals = (eventId: number): Promise<TokenTotals> => {
    const cached = counted.get(eventId)
    if (cached && Date.now() - cached.at < TOTALS_MAX_AGE_MS) return cached.totals
    const fresh = countTokenOutcomes(db, eventId).then(
      (value) => {
        lastCounted.set(eventId, value)
        return value
      },
      (error: unknown) => {
        // MySQL down: the next scrape counts again; meanwhile the last count stands, so the
        // live figures (from Redis, current) still show during a MySQL outage.
        counted.delete(eventId)
        const last = lastCounted.get(eventId)
        if (last) return last
        throw error
      },
    )
    counted.set(eventId, { at: Date.now(), totals: fresh })
    return fresh
  }

  const readAll = async (): Promise<Map<number, QueueFigures>> => {
    const ids = options.liveEvents()
    // Events no longer live leave the caches as they leave the gauges.
    for (const cache of [counted, lastCounted])
      for (const id of [...cache.keys()]) if (!ids.includes(id)) cache.delete(id)
    const read = new Map<number, QueueFigures>()
    for (const eventId of ids) {
      try {
        const figures = await queueFigures(queue, eventId, totals)
        if (figures) read.set(eventId, figures)
      } catch (error) {
        // Redis or MySQL down: this event sits out this scrape, /metrics still answers
        // (the loops' failure counters tell the operator why).
        log.warn({ err: error, eventId }, 'event figures unreadable for /metrics')
      }
    }
    return read
  }
  const gauge = perEventGauges(registers, readAll)
  gauge(
    'queue_sale_state',
    'The sale state of each event (1 for the current state, SPEC §8)',
    (f, state) => (state === f.state ? 1 : 0),
    { label: 'state', values: SALE_STATES },
  )
  gauge('queue_waiting', 'WAITING tokens', (f) => f.waiting)
  gauge('queue_ready', 'READY tokens', (f) => f.ready)
  gauge(
    'queue_admitted_last_minute',
    'Tokens admitted to READY in the last minute',
    (f) => f.admittedLastMinute,
  )
  gauge(
    'queue_oldest_waiter_age_seconds',
    'How long the fan at the head of the queue has been waiting (0: nobody waits)',
    (f) => f.oldestWaiterSeconds,
  )
  gauge(
    'queue_configured_admit_per_second',
    'The admission rate the cluster holds the event to (its own, else QUEUE_ADMIT_PER_SECOND)',
    (f) => f.settings.admitPerSecond,
  )
  gauge(
    'queue_configured_max_active',
    'READY tokens the event allows at once (its own, else QUEUE_MAX_ACTIVE)',
    (f) => f.settings.maxActive,
  )
  gauge(
    'queue_configured_active_ttl_seconds',
    'How long a READY token of the event may buy (its own, else QUEUE_ACTIVE_TTL_SECONDS)',
    (f) => f.settings.activeTtlSeconds,
  )
  gauge(
    'queue_configured_waiting_idle_seconds',
    'How long a waiter of the event may go unseen (its own, else QUEUE_WAITING_IDLE_SECONDS)',
    (f) => f.settings.waitingIdleSeconds,
  )
  gauge('queue_configured_paused', '1 while an operator has paused the event’s admission', (f) =>
    f.settings.paused ? 1 : 0,
  )
  const outcomes: Record<string, Figure> = {
    joined: (f) => f.joinedTotal,
    completed: (f) => f.completedTotal,
    abandoned: (f) => f.abandonedTotal,
    timed_out: (f) => f.timedOutTotal,
    left: (f) => f.leftTotal,
  }
  gauge(
    'queue_tokens',
    `Tokens of the event in QUEUE_TOKEN: joined (all), and those that ended completed, abandoned, timed_out or left (counted at most every ${TOTALS_MAX_AGE_MS / 1000} s)`,
    (f, outcome) => (outcomes[outcome] as Figure)(f),
    { label: 'outcome', values: Object.keys(outcomes) },
  )
}
