import type { ErrorCode } from '@concert/shared/errors'

/** What the app itself can run into: no answer at all, or an answer without a known code. */
type ClientCode = 'NETWORK_ERROR' | 'UNEXPECTED'

export type ProblemCode = ErrorCode | ClientCode

/**
 * The one table from problem code to what the fan reads. It must name every code
 * of the API's error catalogue (the type checks it), so a new code cannot reach a
 * fan as a bare identifier.
 */
export const PROBLEM_MESSAGES: Record<ProblemCode, string> = {
  VALIDATION_FAILED: 'Some of the details you entered are not valid. Please check them and try again.',
  MALFORMED_REQUEST: 'The server could not read what your browser sent. Reload the page and try again.',
  TOKEN_MISSING: 'Your place in the queue was not sent along. Join the queue again.',
  TOKEN_INVALID: 'Your place in the queue is no longer known. Join the queue again.',
  TOKEN_EXPIRED:
    'Your turn has ended: the buying time ran out, you left the queue, or you already paid. Join the queue again to buy more.',
  ACCOUNT_AUTH_REQUIRED: 'Please sign in to your account first.',
  ACCOUNT_AUTH_INVALID: 'Your sign-in has expired. Please sign in again.',
  ADMIN_UNAUTHORIZED: 'This is for the organisers only.',
  INSUFFICIENT_BALANCE:
    'Your balance is too low for these seats. Top up your balance, then pay again before your time runs out.',
  TOKEN_NOT_READY: 'It is not your turn yet. Please wait in the queue.',
  TOKEN_SCOPE_MISMATCH: 'Your place in the queue is for another event or account. Join this event’s queue.',
  ACCOUNT_FORBIDDEN: 'You are signed in as someone else. Sign in with this account.',
  ACCOUNT_NOT_FOUND: 'We could not find that account. Sign up, or choose another account.',
  EVENT_NOT_FOUND: 'This event does not exist any more.',
  SCHEDULE_NOT_FOUND: 'That show is no longer on sale (it may have started). Pick another date.',
  SEAT_NOT_FOUND: 'That seat does not exist for this show. Pick another seat.',
  TOKEN_NOT_FOUND: 'Your place in the queue is no longer known. Join the queue again.',
  VENUE_NOT_FOUND: 'This venue does not exist any more.',
  NOT_FOUND: 'That page does not exist.',
  METHOD_NOT_ALLOWED: 'That action is not allowed here.',
  REQUEST_TIMEOUT: 'Your request took too long to arrive. Check your connection and try again.',
  EMAIL_TAKEN: 'An account with this email already exists. Use another email, or choose that account.',
  ACCOUNT_EXISTS: 'You already have an account. Choose it instead of signing up again.',
  SEAT_LOCKED:
    'Another fan is paying for that seat right now, so it is taken for the moment. Pick another seat, or try again in a few seconds.',
  TOKEN_BUSY: 'Your payment is already being processed. Wait a moment before trying again.',
  SEAT_ALREADY_RESERVED: 'Sorry, that seat was just taken by another fan. Pick another seat.',
  IDEMPOTENCY_KEY_IN_USE: 'This payment was already sent with other details. Reload the page and try again.',
  VENUE_NAME_TAKEN: 'A venue with this name already exists (organisers only).',
  SCHEDULE_EXISTS: 'This show already exists (organisers only).',
  SCHEDULE_HAS_SALES: 'This show has sales and cannot be removed (organisers only).',
  PAYLOAD_TOO_LARGE: 'What your browser sent was too large. Reload the page and try again.',
  UNSUPPORTED_MEDIA_TYPE:
    'Your browser sent data in a form the server does not accept. Reload the page and try again.',
  AMOUNT_OUT_OF_RANGE:
    'A top-up must be between ₩1 and ₩10,000,000, and a balance cannot pass ₩2,147,483,647.',
  PRICES_MISMATCH: 'Every seat type needs a price (organisers only).',
  RATE_LIMITED: 'Too many requests from your network. Please wait a little, then try again.',
  HEADERS_TOO_LARGE:
    'Your browser sent too much data (cookies, perhaps). Clear this site’s cookies and try again.',
  INTERNAL_ERROR: 'Something went wrong on our side. Please try again.',
  SERVICE_UNAVAILABLE:
    'The ticket service is busy or briefly unavailable. Please try again in a few seconds.',
  ADMIN_DISABLED: 'The organisers’ tools are switched off.',
  SALE_NOT_OPEN: 'The sale has not opened yet.',
  EVENT_SOLD_OUT: 'Sold out: every seat of this event has been sold.',
  SALE_CLOSED: 'The sale for this event has closed.',
  PURCHASE_LIMIT_EXCEEDED: 'You have reached the number of seats one account may buy for this event.',
  ORDER_TOO_LARGE: 'That is more seats than one order may hold. Pick fewer seats.',
  RESERVATION_NOT_FOUND: 'That reservation does not exist (organisers only).',
  NETWORK_ERROR: 'We cannot reach the ticket service. Check your connection, then try again.',
  UNEXPECTED: 'Something unexpected happened. Please try again.',
}

export function isKnownCode(code: string): code is ProblemCode {
  return Object.hasOwn(PROBLEM_MESSAGES, code)
}
