import { type App, problemResponses, success } from '@concert/http'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { CachedBody } from '../catalog-cache.js'
import { verifiedToken } from '../plugins/token-guard.js'
import { EventParams, ScheduleParams } from '../schemas.js'
import { type CatalogService, DATES_FIELDS, seatMapFields } from '../services/catalog.service.js'
import { eventInPath, eventOfSchedule } from './token-scopes.js'

/**
 * A cached answer goes out as the bytes it was cached as: no serializing per request
 * (the response schemas below still document it, and the service builds it to them).
 */
function sendJson(reply: FastifyReply, body: CachedBody): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(body.json)
}

/** Events (public), bookable dates and seat maps (READY token for the event). */
export async function catalogRoutes(app: App, { catalog }: { catalog: CatalogService }): Promise<void> {
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['catalogue'],
        operationId: 'listEvents',
        summary: 'List events',
        description: 'Every event with at least one show, by first show date. Public.',
        response: { 200: success('The events', Type.Array(Type.Ref('Event'))) },
      },
    },
    async (_request, reply) => sendJson(reply, await catalog.eventListBody()),
  )

  app.get(
    '/v1/events/:eventId/schedules',
    {
      config: {
        token: {
          state: 'READY',
          scope: eventInPath,
          catalogFields: () => DATES_FIELDS,
        },
      },
      schema: {
        tags: ['catalogue'],
        operationId: 'listBookableSchedules',
        summary: 'Bookable dates of an event',
        description:
          'Shows that have not started yet (judged in the venue’s time zone) with at least one free seat. ' +
          'Needs a READY token for the event.',
        security: [{ queueToken: [] }],
        params: EventParams,
        response: {
          200: success(
            'Shows still on sale with free seats, by date and time',
            Type.Array(Type.Ref('Schedule')),
          ),
          ...problemResponses(
            'TOKEN_MISSING',
            'TOKEN_INVALID',
            'TOKEN_EXPIRED',
            'TOKEN_NOT_READY',
            'TOKEN_SCOPE_MISMATCH',
            'EVENT_NOT_FOUND',
          ),
        },
      },
    },
    async (request, reply) =>
      sendJson(reply, await catalog.datesBody(request.params.eventId, verifiedToken(request).catalog)),
  )

  app.get(
    '/v1/schedules/:scheduleId/seats',
    {
      config: {
        token: {
          state: 'READY',
          scope: eventOfSchedule(catalog, (request) => (request.params as { scheduleId: number }).scheduleId),
          catalogFields: (request) => seatMapFields((request.params as { scheduleId: number }).scheduleId),
        },
      },
      schema: {
        tags: ['catalogue'],
        operationId: 'getSeatMap',
        summary: 'Seat map of a show',
        description:
          'All seats with area, type, price and status, by seat number. A seat sold on another API copy may ' +
          'show AVAILABLE for at most SEAT_MAP_CACHE_MS. Needs a READY token for the event.',
        security: [{ queueToken: [] }],
        params: ScheduleParams,
        response: {
          200: success('Every seat of the show with its price and status', Type.Ref('SeatMap')),
          ...problemResponses(
            'TOKEN_MISSING',
            'TOKEN_INVALID',
            'TOKEN_EXPIRED',
            'TOKEN_NOT_READY',
            'TOKEN_SCOPE_MISMATCH',
            'SCHEDULE_NOT_FOUND',
          ),
        },
      },
    },
    async (request, reply) =>
      sendJson(reply, await catalog.seatMapBody(request.params.scheduleId, verifiedToken(request).catalog)),
  )
}
