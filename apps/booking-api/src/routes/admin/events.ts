import { type App, LOCATION_HEADER, problemResponses, success } from '@concert/http'
import { Type } from 'typebox'
import { AdminEventParams, CreateEventBody, UpdateEventBody } from '../../admin-schemas.js'
import { auditEntry } from '../../plugins/admin-auth.js'
import type { CatalogService } from '../../services/catalog.service.js'
import { createEvent, eventView, updateEventSettings } from '../../services/event-admin.service.js'

export async function eventAdminRoutes(app: App, { catalog }: { catalog: CatalogService }): Promise<void> {
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
    async (request) =>
      updateEventSettings(app.db, catalog, request.params.eventId, request.body, auditEntry(request)),
  )
}
