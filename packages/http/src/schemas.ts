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
