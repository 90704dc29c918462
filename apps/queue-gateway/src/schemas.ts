import { AccountIdSchema, IdSchema } from '@concert/http'
import { Type } from 'typebox'

export const JoinBody = Type.Object(
  {
    accountId: AccountIdSchema,
    eventId: IdSchema,
  },
  { additionalProperties: false },
)

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const TicketSchema = Type.Object(
  {
    token: Type.String({
      description: 'Queue token: send it as `Authorization: Bearer <token>` to the booking API',
    }),
    accountId: Type.String(),
    eventId: Type.Integer(),
    status: Type.Union([Type.Literal('WAITING'), Type.Literal('READY'), Type.Literal('EXPIRED')]),
    position: Type.Integer({ minimum: 0, description: '1 = head of the queue; 0 once READY or EXPIRED' }),
    estimatedWaitSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'People ahead ÷ admissions per second over the last minute; null unless WAITING',
    }),
    issuedAt: Type.String({ format: 'date-time' }),
    readyAt: Nullable(Type.String({ format: 'date-time' })),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    reason: Type.Union(
      [
        Type.Literal('COMPLETED'),
        Type.Literal('TIMEOUT'),
        Type.Literal('ABANDONED'),
        Type.Literal('LEFT'),
        Type.Null(),
      ],
      { description: 'Why an EXPIRED token ended; null otherwise' },
    ),
    pollAfterMs: Type.Integer({ minimum: 0, description: 'Poll again after this long; 0 = stop polling' }),
  },
  { $id: 'Ticket' },
)

export const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) })
