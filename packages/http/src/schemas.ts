import { Type } from 'typebox'

/**
 * `{ 400: Problem, 404: Problem }` for a route's response schema. The Problem
 * schema itself (registered by the openapi plugin) lives beside the error
 * catalogue in @concert/shared; the domain's id schemas live there too.
 */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Problem')]))
}
