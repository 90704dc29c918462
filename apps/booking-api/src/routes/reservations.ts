import { type App, problemResponses, success } from '@concert/http'
import { AppError } from '@concert/shared'
import { Counter } from 'prom-client'
import { Type } from 'typebox'
import { uncheckedToken } from '../plugins/token-guard.js'
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
          // begin-purchase refuses a token that is not READY: losers of a hot seat and buyers
          // alike make one Redis round trip, not two (ReservationService.reserve).
          checkedByHandler: true,
        },
      },
      // Before the schema: its union would only say "must NOT have additional properties" twice.
      preValidation: async (request) => {
        const body = request.body
        if (typeof body === 'object' && body !== null && 'seatId' in body && 'seatIds' in body) {
          throw new AppError(
            'VALIDATION_FAILED',
            'body: send seatId (one seat) or seatIds (an order), not both',
          )
        }
      },
      schema: {
        tags: ['reservations'],
        operationId: 'reserveSeats',
        summary: 'Reserve and pay for one seat or an order of several',
        description:
          'Send `seatId` (one seat, v1) or `seatIds` (1..the event’s `maxSeatsPerOrder` seats of one show, ' +
          'no duplicates), not both. All or nothing: the seats are locked in ascending seat id (409 ' +
          'SEAT_LOCKED while another fan pays for one of them), checked free (409 SEAT_ALREADY_RESERVED), ' +
          'the balance must cover the total (402), then one transaction saves every reservation, takes the ' +
          'total once, writes a PAYMENT ledger row per seat and expires the queue token. Both 409s name the ' +
          'unavailable seats in the problem’s `seatIds`; nothing is sold and the token stays READY. More seats ' +
          'than the event allows per order → 409 ORDER_TOO_LARGE (`maxSeatsPerOrder` in the problem); more ' +
          'than one account may hold for the event over all its orders → 409 PURCHASE_LIMIT_EXCEEDED ' +
          '(`maxSeatsPerAccount`, `seatsHeld`). The answer keeps the v1 fields for the first seat (by ' +
          'ascending seat id) and adds `seats` and `total`. A READY token pays at most once; with an ' +
          '`Idempotency-Key` a retry of the same order (same show and seats) gets the first answer.',
        security: [{ queueToken: [] }],
        headers: IdempotencyHeaders,
        body: ReserveBody,
        response: {
          201: success(
            'Reserved and paid (or, with Idempotent-Replayed, the first answer to this key)',
            Type.Ref('Reservation'),
          ),
          ...problemResponses(
            'TOKEN_MISSING',
            'TOKEN_INVALID',
            'TOKEN_EXPIRED',
            'TOKEN_NOT_READY',
            'TOKEN_SCOPE_MISMATCH',
            'INSUFFICIENT_BALANCE',
            'ACCOUNT_NOT_FOUND',
            'SCHEDULE_NOT_FOUND',
            'SEAT_NOT_FOUND',
            'SEAT_LOCKED',
            'SEAT_ALREADY_RESERVED',
            'TOKEN_BUSY',
            'ORDER_TOO_LARGE',
            'PURCHASE_LIMIT_EXCEEDED',
            'IDEMPOTENCY_KEY_IN_USE',
          ),
        },
      },
    },
    async (request, reply) => {
      const token = uncheckedToken(request)
      const result = await reservations
        .reserve({
          token,
          scheduleId: request.body.scheduleId,
          seatIds: 'seatIds' in request.body ? request.body.seatIds : [request.body.seatId],
          idempotencyKey: request.headers['idempotency-key'],
        })
        .catch((error: unknown) => {
          // A token the guard's check refused is not an attempt, as when the guard ran first.
          if (!token.refused) outcomes.inc({ outcome: error instanceof AppError ? error.code : 'ERROR' })
          throw error
        })
      outcomes.inc({ outcome: result.replayed ? 'REPLAYED' : 'CREATED' })
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      const { replayed: _replayed, ...reservation } = result
      return reply.status(201).send(reservation)
    },
  )
}
