import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

/** The header a request id comes in on (from a proxy or a client) and goes back out on. */
export const REQUEST_ID_HEADER = 'X-Request-Id'

/**
 * What we accept as a caller's request id: short, and only characters that are safe
 * in a header, a log line and a URN, so a caller cannot forge log lines or bloat them.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is safe, else a fresh UUID.
 * A proxy's id thus follows one request through every hop's logs.
 */
export function requestIdOf(request: IncomingMessage): string {
  const header = request.headers[REQUEST_ID_HEADER.toLowerCase()]
  const presented = Array.isArray(header) ? undefined : header?.trim()
  return presented !== undefined && SAFE_REQUEST_ID.test(presented) ? presented : randomUUID()
}

/**
 * Returns the request id on every response, so a client can quote it when it reports
 * a problem; Fastify logs it as `reqId` on each of the request's log lines, and
 * problem+json carries it as `instance`. A route that writes to the raw response
 * itself (SSE) sends it with its own headers: Fastify's reply headers are only
 * written by reply.send(). Not `reply.raw.setHeader`: a header set on the raw
 * response sends every other header down Node's slower per-header path, and keeps
 * them all stored for as long as the response is open.
 */
export const requestIdPlugin = fp(
  async (app) => {
    // A callback hook, not an async one: it runs on every request and needs no promise.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id)
      done()
    })
  },
  { name: 'request-id' },
)
