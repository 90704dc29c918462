import { QueueService, type QueueSettings } from '@concert/queue'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    queue: QueueService
  }
}

/** The shared queue package, used here to verify, claim and complete tokens (never over HTTP). */
export const queuePlugin = fp<{ prefix: string; settings: QueueSettings }>(
  async (app, options) => {
    app.decorate(
      'queue',
      new QueueService({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        settings: options.settings,
        onRecovered: (summary) => app.log.warn(summary, 'queue rebuilt from MySQL'),
      }),
    )
  },
  { name: 'queue', dependencies: ['mysql', 'redis'] },
)
