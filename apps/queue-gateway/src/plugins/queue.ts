import { hostname } from 'node:os'
import { MirrorWorker, type QueueTuning } from '@concert/queue'
import fp from 'fastify-plugin'
import { nanoid } from 'nanoid'
import { ExistenceCache } from '../existence-cache.js'

declare module 'fastify' {
  interface FastifyInstance {
    mirror: MirrorWorker
    catalog: {
      events: ExistenceCache<number>
      accounts: ExistenceCache<string>
    }
  }
}

export interface QueuePluginOptions {
  prefix: string
  tuning: QueueTuning
}

/** The gateway's own queue machinery: the MySQL mirror worker and the existence caches. */
export const queuePlugin = fp<QueuePluginOptions>(
  async (app, options) => {
    app.decorate(
      'mirror',
      new MirrorWorker({
        redis: app.redis,
        db: app.db,
        prefix: options.prefix,
        consumer: `${hostname()}-${process.pid}-${nanoid(6)}`,
        batchSize: options.tuning.mirrorBatchSize,
        claimIdleMs: options.tuning.mirrorClaimIdleMs,
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
  { name: 'gateway-queue', dependencies: ['queue'] },
)
