import { type App, problemResponses } from '@concert/http'
import { AppError } from '@concert/shared'
import { Counter } from 'prom-client'
import { Type } from 'typebox'
import { verifiedToken } from '../plugins/token-guard.js'
import { IdempotencyHeaders, ReserveBody } from '../schemas.js'
import type { CatalogService } from '../services/catalog.service.js'
import type { ReservationService } from '../services/reservation.service.js'
import { eventOfSchedule } from './token-scopes.js'

export async function reservationRoutes(
  app: App,
  { catalog, reservations }: { catalog: CatalogService; reservations: ReservationService },
): Promise<void> {
  const outcomes = new Counter({
    name: 'booking_reservations_total',
    help: 'Reserve-and-pay attempts by outcome (CREATED, REPLAYED, or the error code)',
    labelNames: ['outcome'],
    registers: [app.metrics],
  })
  app.post(
    '/v1/reservations',
    {
      config: {
        token: {
          state: 'READY',
          // A retry with the Idempotency-Key of a finished purchase replays it, though the token is spent.
          acceptCompleted: (request) => typeof request.headers['idempotency-key'] === 'string',
          scope: eventOfSchedule(catalog, (request) => (request.body as { scheduleId: number }).scheduleId),
        },
      },
      schema: {
        tags: ['reservations'],
        summary: 'Reserve and pay for a seat',
        description:
          'Locks the seat (409 SEAT_LOCKED while another fan pays for it), checks it is free and the balance ' +
          'covers its price, then in one transaction saves the reservation, takes the money, records the ' +
          'payment and expires the queue token. A READY token pays at most once.',
        security: [{ queueToken: [] }],
        headers: IdempotencyHeaders,
        body: ReserveBody,
        response: { 201: Type.Ref('Reservation'), ...problemResponses(400, 401, 402, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const result = await reservations
        .reserve({
          token: verifiedToken(request),
          scheduleId: request.body.scheduleId,
          seatId: request.body.seatId,
          idempotencyKey: request.headers['idempotency-key'],
        })
        .catch((error: unknown) => {
          outcomes.inc({ outcome: error instanceof AppError ? error.code : 'ERROR' })
          throw error
        })
      outcomes.inc({ outcome: result.replayed ? 'REPLAYED' : 'CREATED' })
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      const { replayed: _replayed, ...reservation } = result
      return reply.status(201).send(reservation)
    },
  )
}
