import { createDb, type Database } from '@concert/db'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

export interface MysqlPluginOptions {
  url: string
  poolSize: number
}

/** Decorates `app.db` with a Kysely instance over a mysql2 pool; the pool closes with the app. */
export const mysqlPlugin = fp<MysqlPluginOptions>(
  async (app, options) => {
    const db = createDb({ url: options.url, poolSize: options.poolSize })
    app.decorate('db', db)
    app.addHook('onClose', async () => {
      await db.destroy()
    })
  },
  { name: 'mysql' },
)
