import { createDbWithPool, type Database } from '@concert/db'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { Gauge } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

export interface MysqlPluginOptions {
  url: string
  poolSize: number
  /** See timeStatements (DB_QUERY_TIMEOUT_MS). */
  queryTimeoutMs: number
}

/**
 * Decorates `app.db` with a Kysely instance over a mysql2 pool; the pool closes with the app.
 * `db_pool_connections` shows how many connections are busy, idle and awaited: a pool
 * with queries waiting is the first sign that MySQL, not the app, is the bottleneck.
 */
export const mysqlPlugin = fp<MysqlPluginOptions>(
  async (app, options) => {
    const { db, usage } = createDbWithPool({
      url: options.url,
      poolSize: options.poolSize,
      queryTimeoutMs: options.queryTimeoutMs,
    })
    app.decorate('db', db)
    new Gauge({
      name: 'db_pool_connections',
      help: 'MySQL pool connections by state: in_use, free, or waiting (queries queued for a connection)',
      labelNames: ['state'],
      registers: [app.metrics],
      collect() {
        const { open, idle, waiting } = usage()
        this.set({ state: 'in_use' }, open - idle)
        this.set({ state: 'free' }, idle)
        this.set({ state: 'waiting' }, waiting)
      },
    })
    new Gauge({
      name: 'db_pool_size',
      help: 'Most MySQL connections this process opens (DB_POOL_SIZE)',
      registers: [app.metrics],
    }).set(options.poolSize)
    app.addHook('onClose', async () => {
      await db.destroy()
    })
  },
  { name: 'mysql', dependencies: ['metrics'] },
)
