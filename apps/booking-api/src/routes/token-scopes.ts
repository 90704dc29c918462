import type { FastifyRequest } from 'fastify'
import type { TokenScope } from '../plugins/token-guard.js'
import type { CatalogService } from '../services/catalog.service.js'

/*
 * What a guarded route's queue token must belong to (`config.token.scope`), one
 * definition per kind of resource. Scopes run after validation, so the params
 * and body they read have their schema's types.
 */

/**
 * The account the route acts for, as its `config.account` names it (the account the
 * account JWT must be): a route names its account once, for both checks.
 */
export const routeAccount = (request: FastifyRequest): TokenScope => {
  const account = request.routeOptions.config.account
  if (typeof account !== 'function') {
    throw new Error(
      `${request.routeOptions.url} scopes its token to its account but names none (config.account)`,
    )
  }
  return { accountId: account(request) }
}

/** The event named in the path. */
export const eventInPath = (request: FastifyRequest): TokenScope => ({
  eventId: (request.params as { eventId: number }).eventId,
})

/** The event of the schedule that `scheduleIdOf` reads from the request (404 SCHEDULE_NOT_FOUND if none). */
export const eventOfSchedule =
  (catalog: CatalogService, scheduleIdOf: (request: FastifyRequest) => number) =>
  async (request: FastifyRequest): Promise<TokenScope> => ({
    eventId: (await catalog.schedule(scheduleIdOf(request))).eventId,
  })
