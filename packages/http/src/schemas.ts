import { Type } from 'typebox'

/** RFC 9457 problem details as every route documents its errors. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable UPPER_SNAKE error code' }),
  },
  { $id: 'Problem', additionalProperties: true },
)

/** `{ 400: Problem, 404: Problem }` for a route's response schema. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Problem')]))
}

/** SPEC §3: 1..64 chars of [A-Za-z0-9_-] (UUIDs allowed). */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const AccountIdSchema = Type.String({
  pattern: ACCOUNT_ID_PATTERN.source,
  description: 'Account id: 1..64 characters of A-Z a-z 0-9 _ -',
  examples: ['demo-alice'],
})

/** Positive integer ids (events, schedules, seats, reservations). */
export const IdSchema = Type.Integer({ minimum: 1, maximum: 999_999_999_999_999 })

export const AccountIdParams = Type.Object({ accountId: AccountIdSchema })
