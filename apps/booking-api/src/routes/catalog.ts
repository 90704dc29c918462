import { type App, problemResponses } from '@concert/http'
import { Type } from 'typebox'
import { EventParams, ScheduleParams } from '../schemas.js'
import type { CatalogService } from '../services/catalog.service.js'
import { eventInPath, eventOfSchedule } from './token-scopes.js'

/** Events (public), bookable dates and seat maps (READY token for the event). */
export async function catalogRoutes(app: App, { catalog }: { catalog: CatalogService }): Promise<void> {
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'List events',
        response: { 200: Type.Array(Type.Ref('Event')) },
      },
    },
    async () => catalog.listEvents(),
  )

  app.get(
    '/v1/events/:eventId/schedules',
    {
      config: {
        token: {
          state: 'READY',
          scope: eventInPath,
        },
      },
      schema: {
        tags: ['catalogue'],
        summary: 'Bookable dates of an event',
        description:
          'Shows that have not started yet (judged in the venue’s time zone) with at least one free seat. ' +
          'Needs a READY token for the event.',
        security: [{ queueToken: [] }],
        params: EventParams,
        response: { 200: Type.Array(Type.Ref('Schedule')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => catalog.bookableSchedules(request.params.eventId),
  )

  app.get(
    '/v1/schedules/:scheduleId/seats',
    {
      config: {
        token: {
          state: 'READY',
          scope: eventOfSchedule(catalog, (request) => (request.params as { scheduleId: number }).scheduleId),
        },
      },
      schema: {
        tags: ['catalogue'],
        summary: 'Seat map of a show',
        description:
          'All seats with area, type, price and status, by seat number. A seat sold on another API copy may ' +
          'show AVAILABLE for at most SEAT_MAP_CACHE_MS. Needs a READY token for the event.',
        security: [{ queueToken: [] }],
        params: ScheduleParams,
        response: { 200: Type.Ref('SeatMap'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => catalog.seatMap(request.params.scheduleId),
  )
}
