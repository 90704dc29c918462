import { type App, problemResponses } from '@concert/http'
import { Type } from 'typebox'
import { AdminReservationParams, RefundBody } from '../../admin-schemas.js'
import { auditEntry } from '../../plugins/admin-auth.js'
import { IdempotencyHeaders } from '../../schemas.js'
import type { CatalogService } from '../../services/catalog.service.js'
import { refundReservation } from '../../services/refund.service.js'
import type { SaleService } from '../../services/sale.service.js'

export async function reservationAdminRoutes(
  app: App,
  { catalog, sale }: { catalog: CatalogService; sale: SaleService },
): Promise<void> {
  app.post(
    '/v1/admin/reservations/:reservationId/refund',
    {
      schema: {
        tags: ['admin'],
        operationId: 'refundReservation',
        summary: 'Refund a sold seat',
        description:
          'Cancels the sale of one seat: the reservation becomes REFUNDED, the seat is AVAILABLE again, the ' +
          'price goes back to the balance (a REFUND ledger row) and ADMIN_AUDIT records it. Once per ' +
          'reservation: refunding it again (in parallel or later, with any key or none) moves no money and ' +
          'answers the same (header `Idempotent-Replayed: true`). An `Idempotency-Key` already used to ' +
          'refund another reservation → 409 IDEMPOTENCY_KEY_IN_USE. A sold-out event whose seat comes back ' +
          'is on sale again (OPEN) at once. Refunds one seat; an order’s other seats stay sold.',
        security: [{ adminKey: [] }],
        params: AdminReservationParams,
        headers: IdempotencyHeaders,
        body: RefundBody,
        response: { 200: Type.Ref('AdminRefund'), ...problemResponses(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const { refund, replayed } = await refundReservation(
        app.db,
        catalog,
        request.params.reservationId,
        { reason: request.body.reason, idempotencyKey: request.headers['idempotency-key'] },
        auditEntry(request),
      )
      if (replayed) reply.header('idempotent-replayed', 'true')
      // A seat is back on sale: buyable at once, and a sold-out event opens again (SPEC §8).
      // A replay too: the first attempt may have died between its commit and this.
      await sale.afterRefund((await catalog.schedule(refund.scheduleId)).eventId, refund)
      return refund
    },
  )
}
