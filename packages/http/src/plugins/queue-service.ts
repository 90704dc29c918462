import { QueueService, type QueueSettings, type QueueTuning } from '@concert/queue'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    queue: QueueService
  }
}

export interface QueueServicePluginOptions {
  prefix: string
  settings: QueueSettings
  tuning?: QueueTuning
}

/**
 * `app.queue`: the queue package's typed API on this app's Redis and MySQL.
 * The gateway issues and admits with it; the booking API verifies, claims and
 * completes tokens with it (in process, never over HTTP).
 *
 * It lives here, not in packages/queue, because it is Fastify wiring (a
 * decorator on the app's own Redis and MySQL, closed with them) that both apps
 * share; the queue package stays free of any HTTP framework.
 */
export const queueServicePlugin = fp<QueueServicePluginOptions>(
  async (app, options) => {
    const recoveries = new Counter({
      name: 'queue_recoveries_total',
      help: 'Queues this process set up in Redis: rebuilt (Redis had lost tokens) or initialised (nothing to restore)',
      labelNames: ['outcome'],
      registers: [app.metrics],
    })
    for (const outcome of ['rebuilt', 'initialised']) recoveries.inc({ outcome }, 0)
    app.decorate(
      'queue',
      new QueueService({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        settings: options.settings,
        ...(options.tuning ? { tuning: options.tuning } : {}),
        onRecovered: (summary) => {
          const rebuilt = summary.waiting + summary.ready + summary.expired > 0
          recoveries.inc({ outcome: rebuilt ? 'rebuilt' : 'initialised' })
          if (rebuilt) {
            app.log.warn(summary, 'queue rebuilt from MySQL after Redis lost it')
          } else {
            app.log.info({ eventId: summary.eventId }, 'queue initialised')
          }
        },
      }),
    )
  },
  { name: 'queue', dependencies: ['mysql', 'redis', 'metrics'] },
)
