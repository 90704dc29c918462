import { collectOrOmit } from '@concert/http'
import { type QueueSettings, refreshSaleSettings, SALE_STATES, type SaleState } from '@concert/queue'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram } from 'prom-client'
import { Loop, type TickObserver } from '../loop.js'
import { allEventIds } from '../repositories/events.repository.js'

export interface WorkersPluginOptions {
  admitIntervalMs: number
  eventsRefreshMs: number
  mirrorIntervalMs?: number
  /** The configured admission rate and READY cap, shown as gauges next to what happens. */
  queue: QueueSettings
}

/**
 * How long an event in this state may go untouched by the admission loop: only an
 * OPEN sale admits, so the others are looked at rarely — often enough to see a
 * PATCH (resume, new opening) or the opening's draw within a fraction of a second,
 * and an ended sale only while it still has tickets to end.
 */
function idleFor(state: SaleState, waiting: number, active: number): number {
  switch (state) {
    case 'OPEN':
      return 0
    case 'PRE_QUEUE':
      return 200
    case 'PAUSED':
    case 'SCHEDULED':
      return 500
    case 'SOLD_OUT':
    case 'CLOSED':
      return waiting + active > 0 ? 0 : 2_000
  }
}

/**
 * The gateway's background work, in every copy: the admission tick for each
 * event (throttled by its sale state), the QUEUE_TOKEN mirror, and a refresh of
 * which events exist and of their sale settings (a safety net: the operator API
 * publishes them at once). On startup every event's queue is checked and rebuilt
 * from MySQL if Redis lost it.
 */
export const workersPlugin = fp<WorkersPluginOptions>(
  async (app, options) => {
    let eventIds: number[] = []
    const quietUntil = new Map<number, number>()
    const loadEvents = async () => {
      eventIds = await allEventIds(app.db)
      for (const eventId of eventIds) {
        await refreshSaleSettings(app.db, app.redis, app.queue.keys(eventId))
      }
    }

    const registers = [app.metrics]
    const waiting = new Gauge({
      name: 'queue_waiting',
      help: 'WAITING tokens',
      labelNames: ['event'],
      registers,
    })
    const active = new Gauge({ name: 'queue_ready', help: 'READY tokens', labelNames: ['event'], registers })
    const admitted = new Counter({
      name: 'queue_admitted_total',
      help: 'Tokens admitted to READY by this copy',
      labelNames: ['event'],
      registers,
    })
    const expired = new Counter({
      name: 'queue_expired_total',
      help: 'Tokens expired by this copy’s admission ticks',
      labelNames: ['event', 'reason'],
      registers,
    })
    const mirrored = new Counter({
      name: 'queue_mirror_applied_total',
      help: 'Stream entries written to QUEUE_TOKEN by this copy',
      registers,
    })
    new Gauge({
      name: 'queue_mirror_lag_entries',
      help: 'Token changes in Redis not yet written to QUEUE_TOKEN',
      labelNames: ['event'],
      registers,
      async collect() {
        await collectOrOmit(this, async () => {
          for (const id of eventIds) this.set({ event: id }, (await app.mirrorWorker.lag(id)).entries)
        })
      },
    })
    new Gauge({
      name: 'queue_mirror_lag_seconds',
      help: 'Age of the oldest token change not yet written to QUEUE_TOKEN',
      labelNames: ['event'],
      registers,
      async collect() {
        await collectOrOmit(this, async () => {
          for (const id of eventIds)
            this.set({ event: id }, (await app.mirrorWorker.lag(id)).oldestAgeMs / 1000)
        })
      },
    })

    const saleState = new Gauge({
      name: 'queue_sale_state',
      help: 'The sale state of each event (1 for the current state, SPEC §8)',
      labelNames: ['event', 'state'],
      registers,
    })
    const ended = new Counter({
      name: 'queue_sale_ended_total',
      help: 'WAITING tickets ended by this copy because the event sold out or its sale closed',
      labelNames: ['event'],
      registers,
    })
    const drawn = new Counter({
      name: 'queue_prequeue_drawn_total',
      help: 'Pre-queue tokens placed by a draw this copy ran',
      labelNames: ['event'],
      registers,
    })
    const tickSeconds = new Histogram({
      name: 'queue_loop_tick_seconds',
      help: 'How long one tick of a background loop took (admission, mirror, events)',
      labelNames: ['loop'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    })
    const tickFailures = new Counter({
      name: 'queue_loop_tick_failures_total',
      help: 'Ticks of a background loop that failed (a stalled admission shows here first)',
      labelNames: ['loop'],
      registers,
    })
    const observeLoop = (loop: string): TickObserver => {
      // A failure counter that exists from the start, so an alert on its rate() sees the first failure.
      tickFailures.inc({ loop }, 0)
      return (seconds, failed) => {
        tickSeconds.observe({ loop }, seconds)
        if (failed) tickFailures.inc({ loop })
      }
    }
    new Gauge({
      name: 'queue_configured_admit_per_second',
      help: 'QUEUE_ADMIT_PER_SECOND: the admission rate the cluster holds each event to',
      registers,
    }).set(options.queue.admitPerSecond)
    new Gauge({
      name: 'queue_configured_max_active',
      help: 'QUEUE_MAX_ACTIVE: READY tokens allowed at once per event',
      registers,
    }).set(options.queue.maxActive)
    new Gauge({
      name: 'queue_oldest_waiter_age_seconds',
      help: 'How long the fan at the head of the queue has been waiting (0: nobody waits)',
      labelNames: ['event'],
      registers,
      async collect() {
        // The same figure as the operator API's queue status (one read script per event).
        await collectOrOmit(this, async () => {
          for (const id of eventIds)
            this.set({ event: id }, (await app.queue.status(id))?.oldestWaiterSeconds ?? 0)
        })
      },
    })

    const admission = new Loop(
      'admission',
      options.admitIntervalMs,
      async () => {
        const now = Date.now()
        for (const eventId of eventIds) {
          if ((quietUntil.get(eventId) ?? 0) > now) continue
          const result = await app.queue.admit(eventId)
          quietUntil.set(eventId, now + idleFor(result.state, result.waiting, result.active))
          const event = String(eventId)
          for (const state of SALE_STATES) saleState.set({ event, state }, state === result.state ? 1 : 0)
          if (result.ended) ended.inc({ event }, result.ended)
          if (result.drawn) drawn.inc({ event }, result.drawn)
          waiting.set({ event }, result.waiting)
          active.set({ event }, result.active)
          if (result.admitted) admitted.inc({ event }, result.admitted)
          if (result.timedOut) expired.inc({ event, reason: 'TIMEOUT' }, result.timedOut)
          if (result.abandoned) expired.inc({ event, reason: 'ABANDONED' }, result.abandoned)
        }
      },
      app.log,
      observeLoop('admission'),
    )
    const mirror = new Loop(
      'mirror',
      options.mirrorIntervalMs ?? 100,
      async () => {
        for (const eventId of eventIds) {
          // Up to ten batches per event per tick keeps one busy event from starving the others.
          for (let i = 0; i < 10; i += 1) {
            const applied = await app.mirrorWorker.pump(eventId)
            mirrored.inc(applied)
            if (applied === 0) break
          }
        }
      },
      app.log,
      observeLoop('mirror'),
    )
    const { eventsRefreshMs } = options
    const events = new Loop('events', eventsRefreshMs, loadEvents, app.log, observeLoop('events'))

    app.addHook('onReady', async () => {
      // A Redis or MySQL hiccup at startup must not keep the gateway down: queues
      // are also rebuilt on demand by the first script that finds them missing.
      try {
        await loadEvents()
        for (const eventId of eventIds) await app.queue.recovery.ensure(eventId)
      } catch (error) {
        app.log.error({ err: error }, 'startup queue check failed; will retry in the background')
      }
      // The event list was just loaded: its refresh loop starts one interval from now.
      events.start(eventsRefreshMs)
      admission.start()
      mirror.start()
    })
    app.addHook('preClose', async () => {
      await Promise.all([admission.stop(), events.stop(), mirror.stop()])
      // Write what is still pending so QUEUE_TOKEN is current when this copy stops.
      for (const eventId of eventIds) await app.mirrorWorker.drain(eventId).catch(() => 0)
    })
  },
  { name: 'workers', dependencies: ['queue', 'mirror-worker', 'metrics'] },
)
