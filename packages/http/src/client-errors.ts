import { type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { AppError, type ErrorCode, toProblem } from '@concert/shared'
import type { ConnectionError, FastifyBaseLogger } from 'fastify'

/**
 * Errors Node's HTTP parser and timers raise before a request reaches Fastify,
 * mapped to our codes. Anything else the parser rejects is a malformed request.
 */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'PAYLOAD_TOO_LARGE',
}

const DETAILS: Partial<Record<ErrorCode, string>> = {
  REQUEST_TIMEOUT: 'the request did not arrive in time',
  HEADERS_TOO_LARGE: 'the request headers are too large',
  PAYLOAD_TOO_LARGE: 'the request body is too large',
  MALFORMED_REQUEST: 'the request is not valid HTTP',
}

export function clientErrorCode(error: ConnectionError): ErrorCode {
  return CLIENT_ERRORS[error.code] ?? 'MALFORMED_REQUEST'
}

/** The one response on the wire, written by hand: there is no request object to reply through. */
export function rawProblemResponse(error: AppError): string {
  const body = JSON.stringify(toProblem(error))
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? error.title}\r\n` +
    'Content-Type: application/problem+json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n' +
    `\r\n${body}`
  )
}

/**
 * Fastify's `clientErrorHandler`: answers a bad request line, oversized headers
 * or a request that took too long with the same problem+json as every other
 * error, then closes the connection (Node's own reply is a bare text line).
 */
export function handleClientError(error: ConnectionError, socket: Socket, log: FastifyBaseLogger): void {
  // The peer is gone: nothing to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const code = clientErrorCode(error)
  // Debug, not warn: anyone can send garbage, and it must not flood the logs.
  log.debug({ err: error, code }, 'client error')
  // Node's own rule: never write into a response whose head is already on the wire
  // (an SSE stream on this socket), or the client would read a corrupted stream.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    socket.end(rawProblemResponse(new AppError(code, DETAILS[code])))
  }
  socket.destroy(error)
}
