/**
 * Typed clients of the two apps, generated from their OpenAPI documents
 * (`pnpm client:generate`). Paths, parameters, bodies and answers are checked by
 * the compiler against what the routes declare; openapi-fetch does the calls with
 * the platform's `fetch`, so the same code runs in Node and in the browser.
 *
 *   const gateway = createGatewayClient('http://localhost:3000')
 *   const { data, error } = await gateway.POST('/v1/queue/tokens', { body: { accountId, eventId } })
 *
 * Errors are problem+json bodies (`error.code`, SPEC §3); a network failure rejects.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { components as BookingComponents, paths as BookingPaths } from './generated/booking.js'
import type { components as GatewayComponents, paths as GatewayPaths } from './generated/gateway.js'

export type { BookingPaths, GatewayPaths }
export type GatewayClient = Client<GatewayPaths>
export type BookingClient = Client<BookingPaths>

/** Everything openapi-fetch accepts except the base URL (headers, a custom fetch, …). */
export type ClientSettings = Omit<ClientOptions, 'baseUrl'>

/** The queue gateway: join, poll, stream, leave. */
export function createGatewayClient(baseUrl: string, settings: ClientSettings = {}): GatewayClient {
  return createClient<GatewayPaths>({ ...settings, baseUrl: withoutTrailingSlash(baseUrl) })
}

/** The booking API: accounts, balance, catalogue, seat maps, reserve-and-pay, operator routes. */
export function createBookingClient(baseUrl: string, settings: ClientSettings = {}): BookingClient {
  return createClient<BookingPaths>({ ...settings, baseUrl: withoutTrailingSlash(baseUrl) })
}

/**
 * Where a ticket's Server-Sent Events stream is (for `EventSource`, which
 * openapi-fetch does not cover): `event: ticket` with a Ticket as JSON on every change.
 */
export function ticketStreamUrl(gatewayBaseUrl: string, token: string): string {
  return `${withoutTrailingSlash(gatewayBaseUrl)}/v1/queue/tokens/${encodeURIComponent(token)}/stream`
}

/** `Authorization: Bearer <queue token>`, as the booking API's token routes expect it. */
export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` }
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url
}

type GatewaySchemas = GatewayComponents['schemas']
type BookingSchemas = BookingComponents['schemas']

/** RFC 9457 problem details with the stable `code` (SPEC §3). */
export type Problem = BookingSchemas['Problem']
export type Ticket = GatewaySchemas['Ticket']
export type Account = BookingSchemas['Account']
export type Balance = BookingSchemas['Balance']
export type Charge = BookingSchemas['Charge']
export type Event = BookingSchemas['Event']
export type Schedule = BookingSchemas['Schedule']
export type SeatMap = BookingSchemas['SeatMap']
export type Seat = SeatMap['seats'][number]
export type Reservation = BookingSchemas['Reservation']
export type AccountReservation = BookingSchemas['AccountReservation']
/** The body of `POST /v1/reservations` as the booking API's document declares it today. */
export type ReserveRequest = NonNullable<
  BookingPaths['/v1/reservations']['post']['requestBody']
>['content']['application/json']

/** Whether a value is a problem body (openapi-fetch's `error` for a problem+json answer). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { status?: unknown }).status === 'number'
  )
}
