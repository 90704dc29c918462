import { type App, problemResponses } from '@concert/http'
import { Type } from 'typebox'
import { CreateVenueBody, VenueParams } from '../../admin-schemas.js'
import { auditEntry } from '../../plugins/admin-auth.js'
import { createVenue, venueView } from '../../services/venue-admin.service.js'

/** Room for a 5,000-seat layout; every other route keeps the app's 16 KiB limit. */
const VENUE_BODY_LIMIT = 1024 * 1024

export async function venueAdminRoutes(app: App): Promise<void> {
  app.post(
    '/v1/admin/venues',
    {
      bodyLimit: VENUE_BODY_LIMIT,
      schema: {
        tags: ['admin'],
        summary: 'Create a venue with its seat layout',
        description:
          '1..5,000 seats, seat numbers unique. `timeZone` is an IANA zone: the dates and times of shows ' +
          'at this venue are wall-clock times there.',
        security: [{ adminKey: [] }],
        body: CreateVenueBody,
        response: { 201: Type.Ref('AdminVenue'), ...problemResponses(400, 401, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const venue = await createVenue(app.db, request.body, auditEntry(request))
      reply.header('location', `/v1/admin/venues/${venue.id}`)
      return reply.status(201).send(venue)
    },
  )

  app.get(
    '/v1/admin/venues/:venueId',
    {
      schema: {
        tags: ['admin'],
        summary: 'A venue and its seat layout',
        security: [{ adminKey: [] }],
        params: VenueParams,
        response: { 200: Type.Ref('AdminVenue'), ...problemResponses(400, 401, 404, 503) },
      },
    },
    async (request) => venueView(app.db, request.params.venueId),
  )
}
