import { type App, LOCATION_HEADER, problemResponses, success } from '@concert/http'
import { Type } from 'typebox'
import { AdminEventParams, CreateEventBody, QueueSettingsBody, UpdateEventBody } from '../../admin-schemas.js'
import { auditEntry } from '../../plugins/admin-auth.js'
import type { CatalogService } from '../../services/catalog.service.js'
import { createEvent, eventView, updateEventSettings } from '../../services/event-admin.service.js'
import type { SaleService } from '../../services/sale.service.js'

export async function eventAdminRoutes(
  app: App,
  { catalog, sale }: { catalog: CatalogService; sale: SaleService },
): Promise<void> {
  app.post(
    '/v1/admin/events',
    {
      schema: {
        tags: ['admin'],
        operationId: 'createEvent',
        summary: 'Create an event',
        description:
          'Every seat type of the venue needs a price (422 PRICES_MISMATCH otherwise). Sale window, queue ' +
          'settings and limits are optional: no `opensAt` means on sale at once, a missing queue setting ' +
          'takes its QUEUE_* default, limits default to 4 seats per order and 8 per account. Add shows ' +
          'with POST /v1/admin/events/{eventId}/schedules; fans see the event once it has one.',
        security: [{ adminKey: [] }],
        body: CreateEventBody,
        response: {
          201: success('The event with its prices and settings', Type.Ref('AdminEvent'), {
            Location: LOCATION_HEADER,
          }),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'VENUE_NOT_FOUND', 'PRICES_MISMATCH'),
        },
      },
    },
    async (request, reply) => {
      const event = await createEvent(app.db, request.body, auditEntry(request))
      await sale.publish(event.id)
      reply.header('location', `/v1/admin/events/${event.id}`)
      return reply.status(201).send(event)
    },
  )

  app.get(
    '/v1/admin/events/:eventId',
    {
      schema: {
        tags: ['admin'],
        operationId: 'getEvent',
        summary: 'An event with its prices, settings and shows',
        security: [{ adminKey: [] }],
        params: AdminEventParams,
        response: {
          200: success('The event', Type.Ref('AdminEvent')),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'EVENT_NOT_FOUND'),
        },
      },
    },
    async (request) => eventView(app.db, request.params.eventId),
  )

  app.patch(
    '/v1/admin/events/:eventId',
    {
      schema: {
        tags: ['admin'],
        operationId: 'updateEvent',
        summary: 'Change an event',
        description:
          'Only the fields sent change; null clears a sale time or a queue setting (back to its default). ' +
          'Prices apply to sales from now on: a sale already made keeps the price it was paid at. The ' +
          'venue of an event is fixed.',
        security: [{ adminKey: [] }],
        params: AdminEventParams,
        body: UpdateEventBody,
        response: {
          200: success('The event as changed', Type.Ref('AdminEvent')),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'EVENT_NOT_FOUND', 'PRICES_MISMATCH'),
        },
      },
    },
    async (request) => {
      const event = await updateEventSettings(
        app.db,
        catalog,
        request.params.eventId,
        request.body,
        auditEntry(request),
      )
      await sale.publish(event.id)
      return event
    },
  )

  app.get(
    '/v1/admin/events/:eventId/queue',
    {
      schema: {
        tags: ['admin'],
        operationId: 'getEventQueueStatus',
        summary: 'Live queue and sale figures of an event',
        description:
          'The sale state (SPEC §8), the effective admission settings, live counts from Redis, totals from ' +
          'QUEUE_TOKEN, seats of the shows still on sale, the head waiter’s wait and the mirror’s lag.',
        security: [{ adminKey: [] }],
        params: AdminEventParams,
        response: { 200: Type.Ref('QueueStatus'), ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request) => sale.status(request.params.eventId),
  )

  app.patch(
    '/v1/admin/events/:eventId/queue',
    {
      schema: {
        tags: ['admin'],
        operationId: 'updateEventQueue',
        summary: 'Change admission live',
        description:
          'maxActive, admitPerSecond, activeTtlSeconds, waitingIdleSeconds (null: back to the QUEUE_* ' +
          'default) and paused. Stored in MySQL, then published to Redis: every gateway copy applies it at ' +
          'its next admission tick (within a second), no restart.',
        security: [{ adminKey: [] }],
        params: AdminEventParams,
        body: QueueSettingsBody,
        response: { 200: Type.Ref('QueueStatus'), ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request) => sale.updateQueue(request.params.eventId, request.body, auditEntry(request)),
  )
}
