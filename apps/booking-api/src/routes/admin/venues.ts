import { type App, LOCATION_HEADER, problemResponses, success } from '@concert/http'
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
        operationId: 'createVenue',
        summary: 'Create a venue with its seat layout',
        description:
          '1..5,000 seats, seat numbers unique. `timeZone` is an IANA zone: the dates and times of shows ' +
          'at this venue are wall-clock times there.',
        security: [{ adminKey: [] }],
        body: CreateVenueBody,
        response: {
          201: success('The venue with its seats', Type.Ref('AdminVenue'), { Location: LOCATION_HEADER }),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'VENUE_NAME_TAKEN'),
        },
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
        operationId: 'getVenue',
        summary: 'A venue and its seat layout',
        security: [{ adminKey: [] }],
        params: VenueParams,
        response: {
          200: success('The venue with its seats', Type.Ref('AdminVenue')),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'VENUE_NOT_FOUND'),
        },
      },
    },
    async (request) => venueView(app.db, request.params.venueId),
  )
}
