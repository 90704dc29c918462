// Helpers the k6 scripts share: where the apps are, tagged requests, fans and READY tokens
// made through the public APIs (never by hand), and which answers are expected.
import { check, fail, sleep } from 'k6'
import http from 'k6/http'

export const GATEWAY = __ENV.GATEWAY || 'http://127.0.0.1:3000'
export const BOOKING = __ENV.BOOKING || 'http://127.0.0.1:3001'
export const EVENT_ID = Number(__ENV.EVENT_ID || 1)

/**
 * Answers a run expects and that are not failures: 402 (balance too low), 409 (seat
 * taken or being paid for), 429 (per-IP limit). Only other statuses count in
 * http_req_failed.
 */
export function expectQueueAnswers() {
  http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 402, 409, 429))
}

/**
 * The gateway counts its per-IP join limit (ISSUE_RATE_LIMIT_PER_MINUTE, 600 a minute) and
 * SSE caps by client address. From one load generator every fan shares one address, so a
 * load test either raises the limit or runs the gateway with TRUST_PROXY=1 (compose's k6
 * profile: queue-gateway-k6) and lets each virtual user present its own address here
 * (198.18.0.0/15 is reserved for benchmarks). Without TRUST_PROXY=1 this header is ignored.
 * @param {number} fan
 * @returns {Record<string, string>}
 */
export function clientAddress(fan) {
  return { 'X-Forwarded-For': `198.18.${Math.floor(fan / 250) % 256}.${(fan % 250) + 1}` }
}

/**
 * Request parameters: a JSON body, a URL tag that groups /tokens/<token> under one name,
 * and any extra headers.
 * @param {string} name
 * @param {Record<string, string>} [headers]
 * @returns {import('k6/http').Params}
 */
export function params(name, headers = {}) {
  return { headers: { 'content-type': 'application/json', ...headers }, tags: { name } }
}

/*
 * The API's types come from the client generated off the apps' OpenAPI documents
 * (packages/client, `pnpm client:generate`), as JSDoc: `pnpm k6:check` holds these
 * scripts to them. Types only: k6 runs this file as it is and cannot load npm
 * packages, and a JSDoc import is a comment at run time (the k6 container mounts
 * docker/k6 alone).
 */
/** @typedef {import('../../../packages/client/src/generated/gateway.js').components['schemas']} GatewaySchemas */
/** @typedef {import('../../../packages/client/src/generated/booking.js').components['schemas']} BookingSchemas */
/** @typedef {import('../../../packages/client/src/generated/gateway.js').operations} GatewayOperations */
/** @typedef {import('../../../packages/client/src/generated/booking.js').operations} BookingOperations */
/** @typedef {GatewaySchemas['Ticket']} Ticket */
/** @typedef {BookingSchemas['Account']} Account */
/** @typedef {BookingSchemas['Schedule']} Schedule */
/** @typedef {BookingSchemas['SeatMap']} SeatMap */
/** @typedef {GatewayOperations['joinQueue']['requestBody']['content']['application/json']} JoinRequest */
/** @typedef {BookingOperations['createAccount']['requestBody']['content']['application/json']} NewAccount */
/** @typedef {BookingOperations['chargeBalance']['requestBody']['content']['application/json']} ChargeRequest */
/** @typedef {NonNullable<BookingOperations['reserveSeats']['requestBody']>['content']['application/json']} ReserveRequest */

/**
 * A request body, JSON-encoded. Callers mark the object `@satisfies` the generated body
 * type, so a missing or misspelt field fails `pnpm k6:check`.
 * @template T
 * @param {T} body
 * @returns {string}
 */
export function json(body) {
  return JSON.stringify(body)
}

/**
 * Creates an account with `amount` won on it; returns its id.
 * @param {string} label
 * @param {number} amount
 * @returns {string}
 */
export function createFan(label, amount) {
  const email = `k6-${label}-${Date.now()}-${Math.floor(Math.random() * 1e9)}@load.test`
  const created = http.post(
    `${BOOKING}/v1/accounts`,
    json(/** @satisfies {NewAccount} */ ({ email, name: `k6 ${label}` })),
    params('POST /v1/accounts'),
  )
  if (!check(created, { 'account created': (r) => r.status === 201 }))
    fail(`account: ${created.status} ${created.body}`)
  const accountId = /** @type {Account} */ (created.json()).id
  const charged = http.post(
    `${BOOKING}/v1/accounts/${accountId}/balance/charge`,
    json(/** @satisfies {ChargeRequest} */ ({ amount })),
    params('POST /v1/accounts/{accountId}/balance/charge', { 'idempotency-key': `k6-open-${accountId}` }),
  )
  if (!check(charged, { 'balance charged': (r) => r.status === 200 }))
    fail(`charge: ${charged.status} ${charged.body}`)
  return accountId
}

/**
 * Joins the event's queue; the ticket, or undefined when refused (429 or 503).
 * @param {string} accountId
 * @param {Record<string, string>} [headers]
 * @returns {Ticket | undefined}
 */
export function join(accountId, headers = {}) {
  const joined = http.post(
    `${GATEWAY}/v1/queue/tokens`,
    json(/** @satisfies {JoinRequest} */ ({ accountId, eventId: EVENT_ID })),
    params('POST /v1/queue/tokens', headers),
  )
  check(joined, {
    'joined (201/200) or told to retry (429/503)': (r) => [200, 201, 429, 503].includes(r.status),
  })
  if (joined.status !== 200 && joined.status !== 201) return undefined
  return /** @type {Ticket} */ (joined.json())
}

/**
 * Polls a ticket, as the gateway asks (pollAfterMs), until it is no longer WAITING.
 * @param {Ticket} ticket
 * @param {Record<string, string>} [headers]
 * @param {number} [timeoutSeconds]
 * @returns {Ticket}
 */
export function pollUntilAdmitted(ticket, headers = {}, timeoutSeconds = 600) {
  const deadline = Date.now() + timeoutSeconds * 1000
  let current = ticket
  while (current.status === 'WAITING' && Date.now() < deadline) {
    sleep(Math.max(0.2, current.pollAfterMs / 1000))
    const polled = http.get(
      `${GATEWAY}/v1/queue/tokens/${current.token}`,
      params('GET /v1/queue/tokens/{token}', headers),
    )
    if (polled.status === 200) current = /** @type {Ticket} */ (polled.json())
  }
  return current
}

/**
 * The first show on sale and its free seats, read with a READY token.
 * @param {string} token
 * @returns {{ scheduleId: number, freeSeatIds: number[] } | undefined}
 */
export function freeSeats(token) {
  const auth = params('GET /v1/events/{eventId}/schedules', { authorization: `Bearer ${token}` })
  const dates = http.get(`${BOOKING}/v1/events/${EVENT_ID}/schedules`, auth)
  if (dates.status !== 200) return undefined
  const schedules = /** @type {Schedule[]} */ (dates.json())
  const first = schedules[0]
  if (!first) return undefined
  const map = http.get(
    `${BOOKING}/v1/schedules/${first.scheduleId}/seats`,
    params('GET /v1/schedules/{scheduleId}/seats', { authorization: `Bearer ${token}` }),
  )
  if (map.status !== 200) return undefined
  const seats = /** @type {SeatMap} */ (map.json()).seats
  return {
    scheduleId: first.scheduleId,
    freeSeatIds: seats.filter((s) => s.status === 'AVAILABLE').map((s) => s.seatId),
  }
}

/**
 * Gives a READY slot back so the next fan is admitted.
 * @param {string} token
 * @param {Record<string, string>} [headers]
 */
export function leave(token, headers = {}) {
  http.del(`${GATEWAY}/v1/queue/tokens/${token}`, null, params('DELETE /v1/queue/tokens/{token}', headers))
}
