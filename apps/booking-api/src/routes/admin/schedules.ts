import { type App, problemResponses, success } from '@concert/http'
import { Type } from 'typebox'
import { AdminEventParams, AdminScheduleParams, CreateScheduleBody } from '../../admin-schemas.js'
import { auditEntry } from '../../plugins/admin-auth.js'
import type { CatalogService } from '../../services/catalog.service.js'
import { addSchedule, removeSchedule } from '../../services/schedule-admin.service.js'

export async function scheduleAdminRoutes(app: App, { catalog }: { catalog: CatalogService }): Promise<void> {
  app.post(
    '/v1/admin/events/:eventId/schedules',
    {
      schema: {
        tags: ['admin'],
        operationId: 'addSchedule',
        summary: 'Add a show',
        description:
          '`date`, `startTime` and `endTime` are wall-clock times in the venue’s time zone; the show is ' +
          'listed and on sale until it starts there. 409 SCHEDULE_EXISTS for a second show at the same ' +
          'date and start time.',
        security: [{ adminKey: [] }],
        params: AdminEventParams,
        body: CreateScheduleBody,
        response: {
          201: success('The show, with its start in UTC', Type.Ref('AdminSchedule')),
          ...problemResponses('ADMIN_UNAUTHORIZED', 'ADMIN_DISABLED', 'EVENT_NOT_FOUND', 'SCHEDULE_EXISTS'),
        },
      },
    },
    async (request, reply) => {
      const show = await addSchedule(
        app.db,
        catalog,
        request.params.eventId,
        request.body,
        auditEntry(request),
      )
      return reply.status(201).send(show)
    },
  )

  app.delete(
    '/v1/admin/schedules/:scheduleId',
    {
      schema: {
        tags: ['admin'],
        operationId: 'removeSchedule',
        summary: 'Remove a show that has no sales',
        description: '409 SCHEDULE_HAS_SALES once any seat of it is sold.',
        security: [{ adminKey: [] }],
        params: AdminScheduleParams,
        response: {
          204: Type.Null({ description: 'Removed' }),
          ...problemResponses(
            'ADMIN_UNAUTHORIZED',
            'ADMIN_DISABLED',
            'SCHEDULE_NOT_FOUND',
            'SCHEDULE_HAS_SALES',
          ),
        },
      },
    },
    async (request, reply) => {
      await removeSchedule(app.db, catalog, request.params.scheduleId, auditEntry(request))
      return reply.status(204).send(null)
    },
  )
}
