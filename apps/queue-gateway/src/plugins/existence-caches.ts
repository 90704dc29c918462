import fp from 'fastify-plugin'
import { ExistenceCache, type ExistenceCacheOptions } from '../existence-cache.js'
import { existingAccountIds } from '../repositories/accounts.repository.js'
import { existingEventIds } from '../repositories/events.repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Which event ids exist: joins check it without a MySQL query each. */
    knownEvents: ExistenceCache<number>
    /** Which account ids exist: joins check it without a MySQL query each. */
    knownAccounts: ExistenceCache<string>
  }
}

export interface ExistenceCachesOptions {
  knownEvents: ExistenceCacheOptions
  knownAccounts: ExistenceCacheOptions
}

/** `app.knownEvents` and `app.knownAccounts`: the join route's batched, cached existence checks. */
export const existenceCachesPlugin = fp<ExistenceCachesOptions>(
  async (app, options) => {
    app.decorate(
      'knownEvents',
      new ExistenceCache<number>((ids) => existingEventIds(app.db, ids), options.knownEvents),
    )
    app.decorate(
      'knownAccounts',
      new ExistenceCache<string>((ids) => existingAccountIds(app.db, ids), options.knownAccounts),
    )
  },
  { name: 'existence-caches', dependencies: ['mysql'] },
)
