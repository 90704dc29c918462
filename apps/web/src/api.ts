import {
  type BookingClient,
  createBookingClient,
  createGatewayClient,
  type GatewayClient,
  isProblem,
  type Problem,
} from '@concert/client'
import { noteServerDate } from './clock'
import { isKnownCode, PROBLEM_MESSAGES, type ProblemCode } from './problems'

/** A failed call: the problem the API answered, or NETWORK_ERROR when nothing answered. */
export class ApiError extends Error {
  override name = 'ApiError'

  constructor(
    readonly code: ProblemCode | string,
    readonly status: number,
    /** The problem body with any extra members (e.g. `opensAt` of SALE_NOT_OPEN, `seatIds`). */
    readonly problem: (Problem & Record<string, unknown>) | undefined,
    /** Seconds, from Retry-After (429, 503). */
    readonly retryAfter: number | undefined,
  ) {
    super(problem?.detail ?? String(code))
  }

  /** What the fan reads: the table's sentence, or the server's title for a code the table lacks. */
  get userMessage(): string {
    if (isKnownCode(this.code)) return PROBLEM_MESSAGES[this.code]
    return this.problem?.title ?? PROBLEM_MESSAGES.UNEXPECTED
  }
}

export interface Api {
  gateway: GatewayClient
  booking: BookingClient
  /** Where the gateway is (the page's own origin), for EventSource. */
  gatewayUrl: string
  /**
   * Accounts are authenticated (SPEC §11): the site's login set the `account_token`
   * cookie, the account is the one it names, and there are no demo accounts.
   */
  accountAuth: boolean
}

let current: Api | undefined

/**
 * The page is served by the gateway, which also says where the booking API is
 * (`/web-config.json`, from WEB_BOOKING_URL) and whether accounts are authenticated;
 * both clients are made once.
 */
export async function initApi(): Promise<Api> {
  const response = await fetch('/web-config.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`web-config.json answered ${response.status}`)
  const config = (await response.json()) as { bookingUrl: string; accountAuth?: boolean }
  const gatewayUrl = window.location.origin
  const accountAuth = config.accountAuth === true
  // With auth on, the account JWT is the site's account_token cookie, which the browser
  // sends to the booking API (another origin) only with credentials: 'include' (and its
  // CORS allowing them). Without auth no cookie is needed, and the default keeps the
  // page working behind CORS_ORIGINS='*', which allows no credentials.
  const settings = { credentials: accountAuth ? 'include' : 'same-origin' } as const
  current = {
    gateway: createGatewayClient(gatewayUrl, settings),
    booking: createBookingClient(config.bookingUrl, settings),
    gatewayUrl,
    accountAuth,
  }
  return current
}

export function api(): Api {
  if (!current) throw new Error('initApi() has not run')
  return current
}

function retryAfterOf(response: Response): number | undefined {
  const value = Number(response.headers.get('retry-after'))
  return Number.isFinite(value) && value > 0 ? value : undefined
}

/**
 * Runs an openapi-fetch call and returns its data, or throws an ApiError: the
 * problem+json the API answered, or NETWORK_ERROR when the request never got an
 * answer (offline, server down).
 */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response }
  try {
    result = await request
  } catch {
    throw new ApiError('NETWORK_ERROR', 0, undefined, undefined)
  }
  const { data, error, response } = result
  // Same origin (the gateway): its Date header is readable, and says the servers' time.
  if (typeof location !== 'undefined' && response.url.startsWith(location.origin))
    noteServerDate(response.headers.get('date'))
  if (response.ok) return data as T
  if (isProblem(error)) {
    throw new ApiError(
      error.code,
      response.status,
      error as Problem & Record<string, unknown>,
      retryAfterOf(response),
    )
  }
  throw new ApiError('UNEXPECTED', response.status, undefined, retryAfterOf(response))
}

/** A fresh Idempotency-Key: a retry of the same payment or top-up sends the same one. */
export function idempotencyKey(): string {
  // getRandomValues, unlike randomUUID, also works on plain-http pages that are not localhost.
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
