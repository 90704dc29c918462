import { isConnectionError, isRetryableLockError, missingParentTable } from '@concert/db'
import { AppError, toProblem } from '@concert/shared'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** Fastify's own 4xx errors (bad JSON, wrong content type, …) → our stable codes. */
function fromFastifyError(error: FastifyError): AppError | undefined {
  if (error.validation) {
    // "body/amount must be integer": the part, the field's path, and what is wrong with it.
    const part = error.validationContext ?? 'request'
    const detail = error.validation.map(
      (issue) => `${part}${issue.instancePath} ${issue.message ?? 'is invalid'}`,
    )
    return new AppError('VALIDATION_FAILED', detail.join('; '))
  }
  const status = error.statusCode ?? 500
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body is too large')
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', error.message)
  if (status === 405) return new AppError('METHOD_NOT_ALLOWED', error.message)
  if (status === 429) return new AppError('RATE_LIMITED', error.message)
  if (status >= 400 && status < 500) return new AppError('VALIDATION_FAILED', error.message)
  return undefined
}

/**
 * ioredis' ways of saying "no Redis right now", which every route must answer as a 503
 * (a command or socket timeout: Redis went silent, see createRedis; BUSY: a script ran
 * past Redis' busy-reply-threshold, and every other command is refused until it ends).
 */
function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|Socket timeout|ECONNREFUSED|ECONNRESET|LOADING|CLUSTERDOWN|^BUSY /.test(
      error.message,
    )
  )
}

export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error
  if (isRetryableLockError(error)) {
    // Still contended after the transaction's own retries: the client may try again.
    return new AppError('SERVICE_UNAVAILABLE', 'the service is busy, retry shortly', {
      retryAfter: 1,
      cause: error,
    })
  }
  if (missingParentTable(error) === 'EVENT_SCHEDULE') {
    // An operator removed the show while a sale of it ran (another copy still had it cached).
    return new AppError('SCHEDULE_NOT_FOUND', 'the show was removed; it is not on sale', { cause: error })
  }
  if (isConnectionError(error) || isRedisUnavailable(error)) {
    return new AppError('SERVICE_UNAVAILABLE', 'a backing service is unavailable, retry shortly', {
      retryAfter: 1,
      cause: error,
    })
  }
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    return fromFastifyError(error as FastifyError)
  }
  return undefined
}

/**
 * Sends the problem already written as JSON, so Fastify skips the route's response
 * serializer: the Problem schema allows extension members (`additionalProperties`),
 * so that serializer would copy the same members JSON.stringify writes, only slower,
 * and far slower while cold. A hot seat's 199 losers are the first 409s their route
 * serializes, all in one burst. The schemas still document every error answer.
 */
export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('Retry-After', String(error.retryAfter))
  return reply
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(error, reply.request.id)))
}

/**
 * The one place errors become responses: domain errors keep their code, anything
 * unexpected is logged with its stack and answered as a bare 500 (no internals).
 */
export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const known = toAppError(error)
      if (known) {
        if (known.status >= 500) request.log.warn({ err: error }, known.message)
        return sendProblem(reply, known)
      }
      request.log.error({ err: error }, 'unhandled error')
      return sendProblem(reply, new AppError('INTERNAL_ERROR', 'an unexpected error occurred'))
    })
    app.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
      ),
    )
  },
  { name: 'errors' },
)
