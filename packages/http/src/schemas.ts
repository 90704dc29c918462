import { ERROR_STATUS, type ErrorCode } from '@concert/shared'
import type { FastifySchema } from 'fastify'
import { type TSchema, Type } from 'typebox'

/*
 * Response documentation helpers. Every error answer is RFC 9457 problem+json
 * (SPEC §3); the OpenAPI document says so per route, with the `code`s that
 * route can answer as an enum, and with the headers that come with them.
 */

/** The media type of every error answer. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/** A response header as @fastify/swagger documents it (a JSON schema with a description). */
export interface HeaderSchema {
  type: 'string' | 'integer'
  description: string
  minimum?: number
  enum?: string[]
  format?: string
}

export const RETRY_AFTER_HEADER: HeaderSchema = {
  type: 'integer',
  minimum: 0,
  description: 'Seconds to wait before trying again',
}

export const REQUEST_ID_RESPONSE_HEADER: HeaderSchema = {
  type: 'string',
  description:
    'This request’s id: the X-Request-Id sent (when 1..128 of A-Z a-z 0-9 . _ : -) or a UUID; also in the logs and a problem’s `instance`',
}

export const LOCATION_HEADER: HeaderSchema = {
  type: 'string',
  format: 'uri-reference',
  description: 'Where the created resource can be read',
}

export const IDEMPOTENT_REPLAYED_HEADER: HeaderSchema = {
  type: 'string',
  enum: ['true'],
  description: 'Present when this is the stored answer to an earlier request with the same Idempotency-Key',
}

const REASONS: Record<number, string> = {
  400: 'Bad request',
  401: 'Not authenticated',
  402: 'Payment required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  431: 'Request header fields too large',
  500: 'Internal server error',
  503: 'Service unavailable',
}

/** Codes whose answers carry Retry-After. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'TOKEN_BUSY'])

/** Problems sent before a request reaches a route: they carry no request id. */
const BEFORE_ROUTING: ReadonlySet<ErrorCode> = new Set([
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'MALFORMED_REQUEST',
])

/** The codes of the catalogue with this status (errors.ts order). */
export function codesOfStatus(status: number): ErrorCode[] {
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => ERROR_STATUS[code] === status)
}

/** One documented error response: problem+json whose `code` is one of `codes`, all of one status. */
export interface ProblemResponse {
  description: string
  headers?: Record<string, HeaderSchema>
  content: { [PROBLEM_MEDIA_TYPE]: { schema: TSchema } }
}

const CODES = Symbol('problem codes')

function problemResponse(status: number, codes: ErrorCode[]): ProblemResponse {
  const headers: Record<string, HeaderSchema> = {}
  if (codes.some((code) => RETRYABLE.has(code))) headers['Retry-After'] = RETRY_AFTER_HEADER
  if (codes.some((code) => !BEFORE_ROUTING.has(code))) headers['X-Request-Id'] = REQUEST_ID_RESPONSE_HEADER
  const response: ProblemResponse = {
    description: `${REASONS[status] ?? `Status ${status}`}: ${codes.join(', ')}`,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      [PROBLEM_MEDIA_TYPE]: {
        // The Problem schema, with `code` narrowed to what this route answers with this status.
        schema: Type.Intersect([
          Type.Ref('Problem'),
          Type.Object({ code: Type.Unsafe<ErrorCode>({ type: 'string', enum: codes }) }),
        ]),
      },
    },
  }
  Object.defineProperty(response, CODES, { value: codes, enumerable: false })
  return response
}

/** The codes a response made by `problemResponses` documents (none for any other response). */
export function problemCodes(response: unknown): ErrorCode[] {
  return (response as { [CODES]?: ErrorCode[] } | undefined)?.[CODES] ?? []
}

/**
 * Error responses of a route, by status. Name codes (`'EVENT_NOT_FOUND'`) to list
 * exactly what the route answers; a bare status (`404`) stands for every code of
 * the catalogue with that status.
 */
export function problemResponses(...items: Array<ErrorCode | number>): Record<number, ProblemResponse> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const item of items) {
    for (const code of typeof item === 'number' ? codesOfStatus(item) : [item]) {
      const status = ERROR_STATUS[code]
      const codes = byStatus.get(status) ?? []
      if (!codes.includes(code)) codes.push(code)
      byStatus.set(status, codes)
    }
  }
  return Object.fromEntries([...byStatus].map(([status, codes]) => [status, problemResponse(status, codes)]))
}

/**
 * A route's responses with more problems added: codes of a status the route already
 * documents join its enum, other statuses are added. Non-problem responses stay as they are.
 */
export function withProblems(
  responses: Record<string, unknown> | undefined,
  ...codes: ErrorCode[]
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...responses }
  const added = problemResponses(...codes)
  for (const [status, response] of Object.entries(added)) {
    const existing = merged[status]
    if (existing === undefined) merged[status] = response
    else {
      const known = problemCodes(existing)
      // A hand-written response (health's 503 with its checks) is left alone.
      if (known.length > 0)
        merged[status] = problemResponses(...known, ...problemCodes(response))[Number(status)]
    }
  }
  return merged
}

/**
 * A success response with its description and headers for the OpenAPI document;
 * the schema (what the serializer writes) is unchanged.
 */
export function success<T extends TSchema>(
  description: string,
  schema: T,
  headers: Record<string, HeaderSchema> = {},
): T & { description: string; headers: Record<string, HeaderSchema> } {
  return { ...schema, description, headers }
}

/**
 * Options of a route kept out of the OpenAPI document (typed here, where
 * @fastify/swagger's `hide` is known, so apps need not depend on it).
 */
export const hiddenFromDocs: { schema: FastifySchema } = { schema: { hide: true } }
