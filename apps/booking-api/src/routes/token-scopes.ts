import type { FastifyRequest } from 'fastify'
import type { TokenScope } from '../plugins/token-guard.js'
import type { CatalogService } from '../services/catalog.service.js'

/*
 * What a guarded route's queue token must belong to (`config.token.scope`), one
 * definition per kind of resource. Scopes run after validation, so the params
 * and body they read have their schema's types.
 */

/** The account named in the path. */
export const accountInPath = (request: FastifyRequest): TokenScope => ({
  accountId: (request.params as { accountId: string }).accountId,
})

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
