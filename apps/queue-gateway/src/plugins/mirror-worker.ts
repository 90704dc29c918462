import { hostname } from 'node:os'
import { MirrorWorker, type QueueTuning } from '@concert/queue'
import fp from 'fastify-plugin'
import { nanoid } from 'nanoid'
import { Counter } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    /** Copies the queue's Redis streams of token changes into QUEUE_TOKEN (run by the workers plugin). */
    mirrorWorker: MirrorWorker
  }
}

/**
 * `app.mirrorWorker`, made whether or not this copy runs the background loops,
 * so tests and shutdown can drain the mirror on demand.
 */
export const mirrorWorkerPlugin = fp<{ prefix: string; tuning: QueueTuning }>(
  async (app, options) => {
    app.decorate(
      'mirrorWorker',
      new MirrorWorker({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        // Unique per process: its name in each stream's consumer group.
        consumer: `${hostname()}-${process.pid}-${nanoid(6)}`,
        batchSize: options.tuning.mirrorBatchSize,
        claimIdleMs: options.tuning.mirrorClaimIdleMs,
        // Not the token: it is the fan's credential (SPEC §3).
        onRefused: (state, error) =>
          app.log.error(
            {
              eventId: state.eventId,
              accountId: state.accountId,
              status: state.status,
              version: state.version,
              err: error,
            },
            'MySQL refused a queue ticket state for good: left out of QUEUE_TOKEN, the rest of its batch written',
          ),
      }),
    )
    // The worker keeps the count (MirrorWorker.refusedTotal); the counter follows it on scrape.
    let reported = 0
    new Counter({
      name: 'queue_mirror_refused_total',
      help: 'Ticket states MySQL refused for good, left out of QUEUE_TOKEN by this copy’s mirror (each is logged)',
      registers: [app.metrics],
      collect() {
        const total = app.mirrorWorker.refusedTotal
        this.inc(total - reported)
        reported = total
      },
    })
  },
  { name: 'mirror-worker', dependencies: ['mysql', 'redis', 'metrics'] },
)
