import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, openBrowser, routeOf } from './browser.js'
import { type Stack, startStack } from './stack.js'

const env = useTestEnv()
let stack: Stack
let browser: Browser
let eventId: number
const AHEAD = 10

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, AHEAD, { prefix: 'ahead' })
  // A low admission rate, so the fan watches the queue move.
  stack = await startStack(env, { gateway: { QUEUE_ADMIT_PER_SECOND: '2' } })
  browser = await openBrowser()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
})

/** Reads the place the waiting room shows, every 100 ms, until the page moves on to the seat map. */
async function watchPositions(page: Page): Promise<number[]> {
  const seen: number[] = []
  const deadline = Date.now() + 30_000
  while (!routeOf(page).endsWith('/buy')) {
    if (Date.now() > deadline) throw new Error(`never READY; positions seen: ${seen.join(',')}`)
    const text = await page
      .getByTestId('position')
      .textContent({ timeout: 200 })
      .catch(() => null)
    const position = Number(text)
    if (text && position !== seen.at(-1)) seen.push(position)
    await page.waitForTimeout(100)
  }
  return seen
}

async function mirroredToken(token: string) {
  for (let i = 0; i < 50; i += 1) {
    const row = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['status', 'reason'])
      .where('token', '=', token)
      .executeTakeFirst()
    if (row?.status === 'EXPIRED') return row
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('token never mirrored as EXPIRED')
}

describe('a fan walks the whole journey in a real browser', () => {
  it('signs up, tops up, joins, watches the place fall, READY, picks seats, pays, sees them sold; the database agrees', async () => {
    const { page } = browser
    await page.goto(stack.pageUrl)
    await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()

    // Sign up.
    await page.getByRole('link', { name: 'Sign up' }).click()
    await page.getByLabel('Name').fill('Web Fan')
    await page.getByLabel('Email').fill('web.fan@example.com')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Concerts on sale' }).waitFor()
    const account = await env.db
      .selectFrom('ACCOUNT')
      .selectAll()
      .where('email', '=', 'web.fan@example.com')
      .executeTakeFirstOrThrow()
    expect(account).toMatchObject({ name: 'Web Fan', amount: 0 })

    // Top up ₩300,000.
    await page.getByRole('navigation').getByRole('link', { name: 'Top up' }).click()
    await page.getByLabel('Amount in won').fill('300000')
    await page.getByRole('button', { name: 'Add ₩300,000' }).click()
    await page.getByText('Added ₩300,000. Your balance is now ₩300,000.').waitFor()

    // Ten fans join first; the gateway's admission loop lets in two a second.
    for (const id of await insertedAhead()) {
      const answer = await fetch(new URL('/v1/queue/tokens', stack.pageUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: id, eventId }),
      })
      expect(answer.status).toBe(201)
    }
    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByTestId('position').waitFor()
    await page.getByText('Live: your place updates by itself.').waitFor()

    const positions = await watchPositions(page)
    expect(positions.length, `positions seen: ${positions.join(',')}`).toBeGreaterThanOrEqual(3)
    expect(positions[0]).toBeGreaterThanOrEqual(4)
    expect(positions).toEqual([...positions].sort((a, b) => b - a))
    expect(new Set(positions).size).toBe(positions.length)

    // READY: the buying window's countdown, the dates, the seat map.
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor()
    await page.getByTestId('time-left').waitFor()
    await expect(page.getByTestId('time-left').textContent()).resolves.toMatch(/^[45]:\d\d$/)
    const held = await page.evaluate(() => JSON.parse(localStorage.getItem('concert.session.v1') ?? '{}'))
    const token = held.tickets[eventId].token as string
    await page.locator('.seat').first().waitFor()
    await expect(page.locator('.seat').count()).resolves.toBe(50)
    // Back leaves the seat map for where the fan came from (the events), not for a waiting
    // room that would send them straight back; Forward returns to the seats, the clock running.
    await page.goBack()
    await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()
    expect(routeOf(page)).toBe('/')
    await page.goForward()
    await page.getByTestId('time-left').waitFor()
    await page.locator('.seat').first().waitFor()
    expect(routeOf(page)).toBe(`/events/${eventId}/buy`)
    await expect(page.getByRole('list', { name: 'Seat types and prices' }).textContent()).resolves.toContain(
      'R ₩143,000',
    )
    // Two seats in one order (SPEC §9: up to the event's maxSeatsPerOrder, 4 by default).
    await page.getByText(/^Pick up to 4 seats\./).waitFor()
    const seatNumbers = ['11', '12']
    const wanted = seatNumbers.length
    for (const number of seatNumbers) {
      const seat = page.getByRole('button', {
        name: new RegExp(`^Seat ${number}, area B, R, ₩143,000, available$`),
      })
      await seat.click()
      await expect(seat.getAttribute('aria-pressed')).resolves.toBe('true')
    }
    const total = 143_000 * wanted
    await page.getByRole('button', { name: `Pay ₩${total.toLocaleString('en-US')}` }).click()

    // The confirmation with the new balance.
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor()
    const balance = 300_000 - total
    await expect(page.getByTestId('new-balance').textContent()).resolves.toBe(
      `₩${balance.toLocaleString('en-US')}`,
    )
    await expect(page.getByTestId('total').textContent()).resolves.toBe(`₩${total.toLocaleString('en-US')}`)

    // My reservations.
    await page.getByRole('link', { name: 'My reservations' }).first().click()
    await page.getByRole('heading', { name: 'My reservations' }).waitFor()
    const rows = page.getByRole('table').getByRole('row')
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1 + wanted)
    await expect(page.getByRole('table').textContent()).resolves.toContain('Aurora World Tour in Seoul')

    // The database agrees: the seats, the money, the ledger, the spent token.
    const reservations = await env.db
      .selectFrom('RESERVATION as r')
      .innerJoin('VENUE_SEAT as s', 's.id', 'r.seat_id')
      .select(['s.seat_number', 'r.price'])
      .where('r.account_id', '=', account.id)
      .orderBy('s.seat_number')
      .execute()
    expect(reservations).toEqual(seatNumbers.map((seat_number) => ({ seat_number, price: 143_000 })))
    const after = await env.db
      .selectFrom('ACCOUNT')
      .select('amount')
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow()
    expect(after.amount).toBe(balance)
    const ledger = await sql<{ type: string; amount: number }>`
      SELECT type, amount FROM BALANCE_HISTORY WHERE account_id = ${account.id} ORDER BY id`.execute(env.db)
    expect(ledger.rows.map((row) => [row.type, Number(row.amount)])).toEqual([
      ['CHARGE', 300_000],
      ...seatNumbers.map(() => ['PAYMENT', -143_000]),
    ])
    await expect(mirroredToken(token)).resolves.toEqual({ status: 'EXPIRED', reason: 'COMPLETED' })

    // Back in the queue for more: the seats just bought are shown sold.
    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    for (const number of seatNumbers) {
      const seat = page.getByRole('button', {
        name: new RegExp(`^Seat ${number}, area B, R, ₩143,000, sold$`),
      })
      await seat.waitFor()
      await expect(seat.isDisabled()).resolves.toBe(true)
    }

    // Nothing came from anywhere but the two apps on loopback, and the page threw nothing.
    const origins = new Set(browser.requests.map((url) => new URL(url).origin))
    expect([...origins].sort()).toEqual([new URL(stack.pageUrl).origin, stack.bookingUrl].sort())
    expect(browser.pageErrors).toEqual([])
  })
})

async function insertedAhead(): Promise<string[]> {
  const rows = await env.db.selectFrom('ACCOUNT').select('id').where('id', 'like', 'ahead-%').execute()
  return rows.map((row) => row.id).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]))
}
