import { QUEUE_EXPIRY_REASONS, QUEUE_TOKEN_STATUSES } from '@concert/db'
import { literalUnion } from '@concert/shared'
import { type Static, Type } from 'typebox'
import { SALE_STATES } from './sale-state.js'

const Instant = Type.String({ format: 'date-time' })

/** What clients see of a queue token (SPEC §3): the schema is the type. */
export const TicketSchema = Type.Object(
  {
    token: Type.String({
      description: 'Queue token: send it as `Authorization: Bearer <token>` to the booking API',
    }),
    accountId: Type.String(),
    eventId: Type.Integer(),
    status: literalUnion(QUEUE_TOKEN_STATUSES),
    position: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: '1 = head of the queue; 0 once READY or EXPIRED; null in the pre-queue (before the draw)',
    }),
    estimatedWaitSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'People ahead ÷ admissions per second over the last minute; null unless WAITING',
    }),
    issuedAt: Instant,
    readyAt: Type.Union([Instant, Type.Null()]),
    expiresAt: Type.Union([Instant, Type.Null()]),
    reason: Type.Union([...literalUnion(QUEUE_EXPIRY_REASONS).anyOf, Type.Null()], {
      description: 'Why an EXPIRED token ended; null otherwise',
    }),
    pollAfterMs: Type.Integer({ minimum: 0, description: 'Poll again after this long; 0 = stop polling' }),
    queueState: literalUnion(SALE_STATES, { description: 'The sale’s state (SPEC §8)' }),
    opensAt: Type.Union([Instant, Type.Null()], {
      description: 'When the sale opens; null: open since creation',
    }),
  },
  { $id: 'Ticket' },
)

export type Ticket = Static<typeof TicketSchema>
