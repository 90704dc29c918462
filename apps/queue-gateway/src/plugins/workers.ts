import { collectOrOmit } from '@concert/http'
import { liveEventIds, loadAllSaleSettings, publishSaleSettings } from '@concert/queue'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram } from 'prom-client'
import { registerEventMetrics } from '../event-metrics.js'
import { EachEvent, Loop, type TickObserver } from '../loop.js'

/** How long a copy waits before drawing again after a failed draw. */
const DRAW_RETRY_MS = 1_000
/** Draws one copy runs at once. */
const DRAWS_PER_COPY = 1
/** The longest pause between two mirror reads of an event whose stream had nothing new. */
const MIRROR_IDLE_MAX_MS = 500

export interface WorkersPluginOptions {
  admitIntervalMs: number
  eventsRefreshMs: number
  /** An OPEN sale nobody waits for is ticked this often (a join through this copy wakes it at once). */
  idleRecheckMs: number
  mirrorIntervalMs?: number
}

/**
 * The gateway's background work, in every copy: the admission tick for each
 * event that can use one, the QUEUE_TOKEN mirror, and a refresh of which events
 * exist and of their sale settings (a safety net: the operator API publishes
 * them at once). On startup every event's queue is checked and rebuilt from
 * MySQL if Redis lost it.
 *
 * Admission ticks only what can move: each admit-11.lua run says when the event
 * next needs one (every tick while an OPEN sale has waiters, or while ending them;
 * else at the opening, the closing or the next READY expiry; a SCHEDULED, PAUSED,
 * SOLD_OUT or CLOSED event with nothing due gets none). A change to any sale hash (an
 * operator's PATCH, sold out or open again, a rebuild) rewrites saleChangesKey,
 * which the loop reads with one GET per tick: then every event gets one tick to
 * say anew when it needs the next, so a resumed or reopened sale admits within a
 * tick or two. A join or a leave through this copy wakes its event at once
 * (QueueService.onActivity); an OPEN sale nobody waits for is also ticked every
 * `idleRecheckMs`, for a join through a copy that went away before its next tick.
 * So a site with hundreds of events on sale and nobody waiting costs Redis next to
 * nothing, where every event used to run the script every tick in every copy.
 *
 * The mirror reads an event's stream every tick while it has entries; one found
 * empty is read again after a pause doubling up to MIRROR_IDLE_MAX_MS, and at the
 * next tick once this copy changed the event (a join, a leave, an admission tick
 * that moved tokens): what another copy or the booking API appends waits at most
 * that long more (SPEC §4: in MySQL within about a second).
 *
 * Events are ticked apart (EachEvent): one that fails does not stop the others. A
 * pre-queue draw a tick finds due runs beside the loop, one per copy at a time, and
 * its event is ticked again when it ends.
 */
export const workersPlugin = fp<WorkersPluginOptions>(
  async (app, options) => {
    let eventIds: number[] = []
    let liveIds: number[] = []
    /** When each event needs its next admission tick (local clock; Infinity: after the next sale change). */
    const nextTickAt = new Map<number, number>()
    /** Events woken while their tick ran: the tick's "next" is stale, they are ticked again at once. */
    const wokenDuringTick = new Set<number>()
    /** Events whose stream was found empty: how many times in a row, and when to read it next. */
    const mirrorIdle = new Map<number, { streak: number; nextAt: number }>()
    /** Events woken while their mirror read ran (likewise). */
    const wokenDuringMirror = new Set<number>()
    const wakeMirror = (eventId: number) => {
      mirrorIdle.delete(eventId)
      wokenDuringMirror.add(eventId)
    }
    const wake = (eventId: number) => {
      nextTickAt.delete(eventId)
      wokenDuringTick.add(eventId)
      wakeMirror(eventId)
    }
    const stopListening = app.queue.onActivity(wake)
    /** The saleChangesKey value the loop last acted on (undefined: none read yet). */
    let saleChanges: string | null | undefined
    /** EVENT.updated_at (ms) of the settings this copy last published, per event. */
    const published = new Map<number, number>()
    const loadEvents = async () => {
      const sales = await loadAllSaleSettings(app.db)
      for (const sale of sales) {
        // Unchanged in MySQL since this copy published it: nothing to repeat.
        if (published.get(sale.eventId) === sale.updatedAt.getTime()) continue
        await publishSaleSettings(app.redis, app.queue.keys(sale.eventId), sale)
        published.set(sale.eventId, sale.updatedAt.getTime())
      }
      eventIds = sales.map((sale) => sale.eventId)
      liveIds = await liveEventIds(app.db)
    }

    const registers = [app.metrics]
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
    registerEventMetrics(registers, { queue: app.queue, db: app.db, log: app.log, liveEvents: () => liveIds })

    const drawFailures = new Counter({
      name: 'queue_prequeue_draw_failures_total',
      help: 'Pre-queue draws this copy started that failed (tried again after 1 s)',
      labelNames: ['event'],
      registers,
    })
    /** Draws this copy runs beside the loop (a large pre-queue takes seconds), by event. */
    const drawing = new Map<number, Promise<void>>()
    /** Events whose last draw here failed (logged once per streak). */
    const failedDraws = new Set<number>()
    const startDraw = (eventId: number, start: () => Promise<number>) => {
      // One draw per copy at a time, as when the loop waited for it: each holds a pool
      // connection in a transaction for seconds. Other copies take the other events' draws.
      if (drawing.size >= DRAWS_PER_COPY) return
      const event = String(eventId)
      let retryAt = 0
      let placed = 0
      const done = start()
        .then(
          (count) => {
            placed = count
            if (placed) drawn.inc({ event }, placed)
            if (failedDraws.delete(eventId)) app.log.info({ eventId }, 'pre-queue draw done after failures')
          },
          (error) => {
            // The order is recorded or not at all: a later tick draws again (or applies it).
            if (!failedDraws.has(eventId)) {
              app.log.error({ err: error, eventId }, 'pre-queue draw failed; trying again every second')
            }
            failedDraws.add(eventId)
            drawFailures.inc({ event })
            retryAt = Date.now() + DRAW_RETRY_MS
          },
        )
        .finally(() => {
          drawing.delete(eventId)
          // After a failure, not before the retry time; drawn here: admit at once. (Drawn by
          // another copy, which holds the draw lock: the next tick sees when it is done.)
          nextTickAt.set(eventId, retryAt)
          if (placed > 0) {
            wakeMirror(eventId)
            admission.kick()
          }
        })
      drawing.set(eventId, done)
    }

    const admissionEvents = new EachEvent('admission', app.log)
    const admission = new Loop(
      'admission',
      options.admitIntervalMs,
      async () => {
        const changes = await app.queue.saleChanges()
        if (changes !== saleChanges) {
          // Some sale changed (or Redis lost the key): every event is looked at once more,
          // and the event list is read now rather than at its next refresh (a new event).
          if (saleChanges !== undefined) {
            nextTickAt.clear()
            events.kick()
          }
          saleChanges = changes
        }
        await admissionEvents.run(eventIds, async (eventId) => {
          const now = Date.now()
          // Nothing is admitted before the draw this copy runs has ended (nor does the tick wait for it).
          if ((nextTickAt.get(eventId) ?? 0) > now || drawing.has(eventId)) return
          wokenDuringTick.delete(eventId)
          const result = await app.queue.admit(eventId, { onDraw: (start) => startDraw(eventId, start) })
          if (!drawing.has(eventId) && !wokenDuringTick.has(eventId)) {
            // An OPEN sale that needs no tick still gets one every idleRecheckMs (see above).
            const atMost = result.state === 'OPEN' ? options.idleRecheckMs : Number.POSITIVE_INFINITY
            // Counted from the answer, not from before the call: the script read its clock in
            // between, so a due time counted from before would fire early (an opening's tick,
            // say, a moment before the opening, finding nothing to do yet).
            nextTickAt.set(
              eventId,
              Date.now() + Math.min(result.nextTickInMs ?? Number.POSITIVE_INFINITY, atMost),
            )
          }
          if (result.admitted || result.timedOut || result.abandoned || result.ended) wakeMirror(eventId)
          const event = String(eventId)
          if (result.ended) ended.inc({ event }, result.ended)
          if (result.admitted) admitted.inc({ event }, result.admitted)
          if (result.timedOut) expired.inc({ event, reason: 'TIMEOUT' }, result.timedOut)
          if (result.abandoned) expired.inc({ event, reason: 'ABANDONED' }, result.abandoned)
        })
      },
      app.log,
      observeLoop('admission'),
    )
    const mirrorEvents = new EachEvent('mirror', app.log)
    const mirrorIntervalMs = options.mirrorIntervalMs ?? 100
    const mirror = new Loop(
      'mirror',
      mirrorIntervalMs,
      () =>
        mirrorEvents.run(eventIds, async (eventId) => {
          const idle = mirrorIdle.get(eventId)
          if (idle && idle.nextAt > Date.now()) return
          wokenDuringMirror.delete(eventId)
          let appliedAll = 0
          // Up to ten batches per event per tick keeps one busy event from starving the others.
          for (let i = 0; i < 10; i += 1) {
            const applied = await app.mirrorWorker.pump(eventId)
            mirrored.inc(applied)
            appliedAll += applied
            if (applied === 0) break
          }
          if (appliedAll > 0 || wokenDuringMirror.has(eventId)) {
            mirrorIdle.delete(eventId)
            return
          }
          const streak = (idle?.streak ?? 0) + 1
          const pauseMs = Math.min(mirrorIntervalMs * 2 ** streak, MIRROR_IDLE_MAX_MS)
          mirrorIdle.set(eventId, { streak, nextAt: Date.now() + pauseMs })
        }),
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
      stopListening()
      await Promise.all([admission.stop(), events.stop(), mirror.stop()])
      // A draw in progress finishes (or fails) before Redis and MySQL are closed.
      await Promise.all(drawing.values())
      // Write what is still pending so QUEUE_TOKEN is current when this copy stops.
      for (const eventId of eventIds) await app.mirrorWorker.drain(eventId).catch(() => 0)
    })
  },
  { name: 'workers', dependencies: ['queue', 'mirror-worker', 'metrics'] },
)
