import { type Static, Type } from 'typebox'

/**
 * Every error a client may see, with its HTTP status. Routes throw AppError;
 * one error handler per app turns it into RFC 9457 problem+json.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_REQUEST: 400,
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  ACCOUNT_AUTH_REQUIRED: 401,
  ACCOUNT_AUTH_INVALID: 401,
  ADMIN_UNAUTHORIZED: 401,
  INSUFFICIENT_BALANCE: 402,
  TOKEN_NOT_READY: 403,
  TOKEN_SCOPE_MISMATCH: 403,
  ACCOUNT_FORBIDDEN: 403,
  ACCOUNT_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  VENUE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  EMAIL_TAKEN: 409,
  ACCOUNT_EXISTS: 409,
  SEAT_LOCKED: 409,
  TOKEN_BUSY: 409,
  SALE_NOT_OPEN: 409,
  EVENT_SOLD_OUT: 409,
  SALE_CLOSED: 409,
  SEAT_ALREADY_RESERVED: 409,
  ORDER_TOO_LARGE: 409,
  PURCHASE_LIMIT_EXCEEDED: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  VENUE_NAME_TAKEN: 409,
  SCHEDULE_EXISTS: 409,
  SCHEDULE_HAS_SALES: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  AMOUNT_OUT_OF_RANGE: 422,
  PRICES_MISMATCH: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  ADMIN_DISABLED: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'Request validation failed',
  MALFORMED_REQUEST: 'Malformed HTTP request',
  TOKEN_MISSING: 'Queue token missing',
  TOKEN_INVALID: 'Queue token invalid',
  TOKEN_EXPIRED: 'Queue token expired',
  ACCOUNT_AUTH_REQUIRED: 'Account token missing',
  ACCOUNT_AUTH_INVALID: 'Account token invalid',
  ADMIN_UNAUTHORIZED: 'Admin key missing or not valid',
  INSUFFICIENT_BALANCE: 'Insufficient balance',
  TOKEN_NOT_READY: 'Queue token not ready',
  TOKEN_SCOPE_MISMATCH: 'Queue token not valid for this resource',
  ACCOUNT_FORBIDDEN: 'Account token belongs to another account',
  ACCOUNT_NOT_FOUND: 'Account not found',
  EVENT_NOT_FOUND: 'Event not found',
  SCHEDULE_NOT_FOUND: 'Schedule not found',
  SEAT_NOT_FOUND: 'Seat not found',
  RESERVATION_NOT_FOUND: 'Reservation not found',
  TOKEN_NOT_FOUND: 'Queue token not found',
  VENUE_NOT_FOUND: 'Venue not found',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  REQUEST_TIMEOUT: 'Request timeout',
  EMAIL_TAKEN: 'Email already registered',
  ACCOUNT_EXISTS: 'Account already exists',
  SEAT_LOCKED: 'Seat is being reserved by another user',
  TOKEN_BUSY: 'Another payment with this queue token is in progress',
  SALE_NOT_OPEN: 'The sale has not opened yet',
  EVENT_SOLD_OUT: 'Sold out',
  SALE_CLOSED: 'The sale is closed',
  SEAT_ALREADY_RESERVED: 'Seat already reserved',
  ORDER_TOO_LARGE: 'Too many seats in one order',
  PURCHASE_LIMIT_EXCEEDED: 'Purchase limit for this event reached',
  IDEMPOTENCY_KEY_IN_USE: 'Idempotency key already used with another request',
  VENUE_NAME_TAKEN: 'Venue name already in use',
  SCHEDULE_EXISTS: 'Show already exists',
  SCHEDULE_HAS_SALES: 'Show has sales',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  AMOUNT_OUT_OF_RANGE: 'Amount out of range',
  PRICES_MISMATCH: 'Prices do not match the venue’s seat types',
  RATE_LIMITED: 'Too many requests',
  HEADERS_TOO_LARGE: 'Request header fields too large',
  INTERNAL_ERROR: 'Internal server error',
  SERVICE_UNAVAILABLE: 'Service unavailable',
  ADMIN_DISABLED: 'Admin API disabled',
}

/** V8's Error, whose stackTraceLimit says how many frames a new error captures. */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number }

export class AppError extends Error {
  override name = 'AppError'
  readonly status: number
  readonly title: string
  /** Seconds; sent as Retry-After on 429 and 503. */
  readonly retryAfter: number | undefined
  /** RFC 9457 extension members a client can act on, e.g. the `seatIds` that were taken. */
  readonly extensions: Readonly<Record<string, unknown>>

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options: { retryAfter?: number; cause?: unknown; extensions?: Record<string, unknown> } = {},
  ) {
    // A refusal (4xx) is an answer, not a fault: its stack, which only a debug log line
    // would show, is not captured (a hot seat's losers are all 409s).
    const stackTraceLimit = V8Error.stackTraceLimit
    if (ERROR_STATUS[code] < 500) V8Error.stackTraceLimit = 0
    super(detail ?? TITLES[code], { cause: options.cause })
    V8Error.stackTraceLimit = stackTraceLimit
    this.status = ERROR_STATUS[code]
    this.title = TITLES[code]
    this.retryAfter = options.retryAfter
    this.extensions = options.extensions ?? {}
  }
}

/** RFC 9457 problem details: the body of every error answer, as routes document it. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable UPPER_SNAKE error code' }),
    instance: Type.Optional(
      Type.String({
        description:
          'This occurrence: `urn:request:<request id>`, the id also in the X-Request-Id header and the logs',
        examples: ['urn:request:3f0c9a56-4c1e-4d8e-9f62-2b7f1d3c9a10'],
      }),
    ),
  },
  { $id: 'Problem', additionalProperties: true },
)

/**
 * A problem body. The schema documents `code` as a plain string (the response
 * serializer then writes it without a union check); the type narrows it to
 * this catalogue's codes.
 */
export type Problem = Static<typeof ProblemSchema> & { code: ErrorCode }

/** The problem's `instance`: which request it was, so a fan's report finds its log lines. */
export function requestInstance(requestId: string): string {
  return `urn:request:${requestId}`
}

/** Each code's problem `type` URI, made once (a hot seat's losers are 409s by the hundred). */
const PROBLEM_TYPES = Object.fromEntries(
  Object.keys(ERROR_STATUS).map((code) => [
    code,
    `https://errors.concert.example/${code.toLowerCase().replaceAll('_', '-')}`,
  ]),
) as Record<ErrorCode, string>

export function toProblem(error: AppError, requestId?: string): Problem {
  // Built member by member, not spread: V8 copies a spread of objects of varying shapes
  // on a slow path (this was ~4 % of a hot-seat loser's CPU in a profile).
  const problem: Problem = {
    type: PROBLEM_TYPES[error.code],
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
  }
  if (requestId !== undefined) problem.instance = requestInstance(requestId)
  // Extensions add members, never replace the standard ones.
  for (const name in error.extensions) {
    if (!Object.hasOwn(problem, name)) (problem as Record<string, unknown>)[name] = error.extensions[name]
  }
  return problem
}
