import { sleep } from '@concert/queue/testing'
import { expect } from 'vitest'
import type { Browser } from './browser.js'
import type { Stack, StackOptions } from './stack.js'

/** The operator key the browser tests' booking API accepts. */
export const ADMIN_KEY = 'browser-test-admin-key-0123456789'

/**
 * A stack whose booking API takes the operator key and whose gateway picks up events
 * made after start (and changes to their settings) within 200 ms; `extra` adds settings.
 */
export function adminStackOptions(extra: StackOptions = {}): StackOptions {
  return {
    ...extra,
    booking: { ADMIN_API_KEYS: ADMIN_KEY, ...extra.booking },
    gateway: { QUEUE_EVENTS_REFRESH_MS: '200', ...extra.gateway },
  }
}

const tomorrow = () => new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10)

/** One operator call (SPEC §7); anything but a 2xx fails the test. */
export async function admin(stack: Stack, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) {
  const response = await stack.booking.inject({
    method,
    url,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    ...(body === undefined ? {} : { payload: body as object }),
  })
  expect(response.statusCode, response.body).toBeLessThan(300)
  return response.json()
}

/**
 * An event with one show tomorrow at a new venue of `seats` seats (area A, one seat type,
 * R at ₩50,000), made through the operator API; `extra` adds to the event's body (sale,
 * queue, limits). Returns the event and its show.
 */
export async function saleEvent(
  stack: Stack,
  title: string,
  seats: number,
  extra: Record<string, unknown> = {},
): Promise<{ eventId: number; scheduleId: number }> {
  const venue = await admin(stack, 'POST', '/v1/admin/venues', {
    name: `${title} Hall`,
    timeZone: 'Asia/Seoul',
    seats: Array.from({ length: seats }, (_, i) => ({ seatNumber: String(i + 1), area: 'A', seatType: 'R' })),
  })
  const event = await admin(stack, 'POST', '/v1/admin/events', {
    title,
    venueId: venue.id,
    prices: { R: 50_000 },
    ...extra,
  })
  const show = await admin(stack, 'POST', `/v1/admin/events/${event.id}/schedules`, {
    date: tomorrow(),
    startTime: '19:00:00',
  })
  await sleep(400) // the gateway's next event-list refresh picks the event up
  return { eventId: event.id, scheduleId: show.scheduleId }
}

/** Joins the event's queue through the API (no browser); the answer's token. */
export async function joinByApi(stack: Stack, accountId: string, eventId: number): Promise<string> {
  const answer = await fetch(new URL('/v1/queue/tokens', stack.pageUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, eventId }),
  })
  expect(answer.status).toBe(201)
  return ((await answer.json()) as { token: string }).token
}

/** Polls the ticket until it is READY (the gateway's admission runs every 50 ms in the stack). */
export async function untilReady(stack: Stack, token: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const ticket = await (await fetch(new URL(`/v1/queue/tokens/${token}`, stack.pageUrl))).json()
    if (ticket.status === 'READY') return
    if (Date.now() > deadline) throw new Error(`never READY: ${JSON.stringify(ticket)}`)
    await sleep(50)
  }
}

/** Events → join the event → the demo account: the page then waits in the queue (or buys, if admitted). */
export async function joinFromPage({ page }: Browser, stack: Stack, title: string, demoName: string) {
  await page.goto(stack.pageUrl)
  await page.getByRole('button', { name: `Join the queue for ${title}` }).click()
  await page.getByRole('button', { name: `Use ${demoName}’s account` }).click()
}

/** Every seat of the show, as its seat map lists them (read with a READY token of its event). */
export async function seatIdsOf(stack: Stack, scheduleId: number, token: string): Promise<number[]> {
  const map = await stack.booking.inject({
    method: 'GET',
    url: `/v1/schedules/${scheduleId}/seats`,
    headers: { authorization: `Bearer ${token}` },
  })
  expect(map.statusCode, map.body).toBe(200)
  return map.json().seats.map((seat: { seatId: number }) => seat.seatId)
}

/** Buys `seatIds` of the show with a READY token through the API (201 expected); the answer's body. */
export async function buyByApi(
  stack: Stack,
  token: string,
  scheduleId: number,
  seatIds: readonly number[],
): Promise<{ reservationId: number }> {
  const sale = await stack.booking.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { authorization: `Bearer ${token}` },
    payload: { scheduleId, seatIds },
  })
  expect(sale.statusCode, sale.body).toBe(201)
  return sale.json()
}
