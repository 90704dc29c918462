import { hostname } from 'node:os'
import { MirrorWorker, QueueService, type QueueSettings } from '@concert/queue'
import fp from 'fastify-plugin'
import { nanoid } from 'nanoid'
import { ExistenceCache } from '../existence-cache.js'

declare module 'fastify' {
  interface FastifyInstance {
    queue: QueueService
    mirror: MirrorWorker
    catalog: {
      events: ExistenceCache<number>
      accounts: ExistenceCache<string>
    }
  }
}

export interface QueuePluginOptions {
  prefix: string
  settings: QueueSettings
}

/** The queue service, its MySQL mirror and the existence caches, on the app instance. */
export const queuePlugin = fp<QueuePluginOptions>(
  async (app, options) => {
    app.decorate(
      'queue',
      new QueueService({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        settings: options.settings,
        onRecovered: (summary) => {
          if (summary.waiting + summary.ready + summary.expired > 0) {
            app.log.warn(summary, 'queue rebuilt from MySQL after Redis lost it')
          } else {
            app.log.info({ eventId: summary.eventId }, 'queue initialised')
          }
        },
      }),
    )
    app.decorate(
      'mirror',
      new MirrorWorker({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        consumer: `${hostname()}-${process.pid}-${nanoid(6)}`,
      }),
    )
    app.decorate('catalog', {
      events: new ExistenceCache<number>(
        async (ids) =>
          (await app.db.selectFrom('EVENT').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
        { hitTtlMs: 60_000, missTtlMs: 5_000, maxEntries: 10_000 },
      ),
      accounts: new ExistenceCache<string>(
        async (ids) =>
          (await app.db.selectFrom('ACCOUNT').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
        { hitTtlMs: 300_000, missTtlMs: 2_000, maxEntries: 500_000 },
      ),
    })
  },
  { name: 'queue', dependencies: ['mysql', 'redis'] },
)
