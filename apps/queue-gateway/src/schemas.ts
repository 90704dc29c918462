import { AccountIdSchema, IdSchema } from '@concert/shared'
import { Type } from 'typebox'

// The ticket's schema (and its type) belong to the queue package, which builds tickets.
export { TicketSchema } from '@concert/queue'

export const JoinBody = Type.Object(
  {
    accountId: AccountIdSchema,
    eventId: IdSchema,
  },
  { additionalProperties: false },
)

export const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) })
