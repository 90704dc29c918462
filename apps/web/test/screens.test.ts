import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from '@concert/queue/testing'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, adminStackOptions, joinByApi, joinFromPage, saleEvent, untilReady } from './admin.js'
import { seriousViolations } from './axe.js'
import { type Browser, openBrowser, PHONE } from './browser.js'
import { type Stack, startStack } from './stack.js'

/*
 * Every screen on a phone (375 × 812): axe-core finds no serious or critical
 * violation, nothing is wider than the screen, and a screenshot is taken. With
 * UPDATE_SCREENSHOTS=1 (`pnpm screenshots`) they go to docs/screenshots/, the
 * ones the README shows; otherwise to a temporary directory, so a test run leaves
 * the working tree as it was. The seat is picked and paid for by keyboard only.
 * The waiting room's sale states (SPEC §8) are shown on events made through the
 * operator API.
 */
const REPO_SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const env = useTestEnv()
let stack: Stack
let browser: Browser
let eventId: number
let otherEventId: number
let shots: string
const AHEAD = 5

beforeAll(async () => {
  ;({ eventId, otherEventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, AHEAD, { prefix: 'ahead' })
  // The operator API makes the events of the sale states; their settings reach the gateway in 200 ms.
  stack = await startStack(env, adminStackOptions({ gateway: { QUEUE_ADMIT_PER_SECOND: '1' } }))
  browser = await openBrowser(PHONE)
  shots =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? REPO_SCREENSHOTS
      : await mkdtemp(join(tmpdir(), 'concert-shots-'))
  await mkdir(shots, { recursive: true })
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
  if (shots && shots !== REPO_SCREENSHOTS) await rm(shots, { recursive: true, force: true })
})

/** AHEAD other fans join the event's queue first, so the fan has to wait. */
async function joinAhead(event: number): Promise<void> {
  for (let n = 1; n <= AHEAD; n += 1) {
    const answer = await fetch(new URL('/v1/queue/tokens', stack.pageUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: `ahead-${n}`, eventId: event }),
    })
    expect(answer.status).toBe(201)
  }
}

/** axe, width and a full-page screenshot of the screen as it is now. */
async function checkScreen(name: string, page = browser.page): Promise<void> {
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([])
  const widths = await page.evaluate(() => ({
    content: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }))
  expect(widths.content, `${name} fits the phone's width`).toBeLessThanOrEqual(widths.viewport)
  // From the top: a sticky element (the buying countdown) would be drawn where the page was scrolled to.
  await page.evaluate(() => window.scrollTo(0, 0))
  const file = join(shots, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  // A PNG's IHDR holds its width at bytes 16..19: the page was drawn 375 px wide.
  expect((await readFile(file)).readUInt32BE(16)).toBe(PHONE.width)
}

describe('every screen on a 375 px phone, by keyboard where it matters', () => {
  it('axe reports what it should: a nameless button on the page is a critical violation', async () => {
    const { page } = browser
    await page.goto(stack.pageUrl)
    await page.getByRole('heading', { name: 'Concerts on sale' }).waitFor()
    await page.evaluate(() => document.querySelector('main')?.append(document.createElement('button')))
    expect((await seriousViolations(page)).map((violation) => violation.id)).toContain('button-name')
  })

  it('events, account, top-up, waiting room, seat map, a payment problem, confirmation, reservations, left the queue', async () => {
    const { page } = browser
    await page.goto(stack.pageUrl)
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).waitFor()
    await checkScreen('events')

    await page.getByRole('link', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    await checkScreen('account')
    // Carol's ₩50,000 cannot pay for a VIP seat: the payment problem below is real.
    await page.getByRole('button', { name: 'Use Carol’s account' }).click()
    await page.getByRole('heading', { name: 'Concerts on sale' }).waitFor()

    await page.getByRole('navigation').getByRole('link', { name: 'Top up' }).click()
    await page.getByRole('button', { name: '₩50,000' }).click()
    await page.getByRole('button', { name: 'Add ₩50,000' }).click()
    await page.getByText('Added ₩50,000. Your balance is now ₩100,000.').waitFor()
    await checkScreen('top-up')

    await joinAhead(eventId)
    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByTestId('position').waitFor()
    await page.getByText('Live: your place updates by itself.').waitFor()
    await checkScreen('waiting-room')

    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    const vip = page.getByRole('button', { name: /^Seat 1, area A, VIP, ₩165,000, available$/ })
    await vip.click()
    await expect(vip.getAttribute('aria-pressed')).resolves.toBe('true')
    await checkScreen('seat-map')

    await page.getByRole('button', { name: 'Pay ₩165,000' }).click()
    const problem = page.locator('[role="alert"][data-code="INSUFFICIENT_BALANCE"]')
    await problem.waitFor()
    await expect(problem.textContent()).resolves.toContain('Your balance is too low for these seats.')
    await checkScreen('payment-problem')

    // Top up from the problem, come back to the seats, and buy by keyboard alone.
    await problem.getByRole('link', { name: 'Top up your balance' }).click()
    await page.getByLabel('Amount in won').fill('300000')
    await page.getByRole('button', { name: 'Add ₩300,000' }).click()
    await page.getByText('Your balance is now ₩400,000.').waitFor()
    await page.getByRole('link', { name: 'Back to your seats' }).click()
    // The seat picked before the trip is still picked; the keyboard lets it go and takes it again.
    const seat = page.getByRole('button', { name: /^Seat 1, area A, VIP, ₩165,000, available$/ })
    await expect(seat.getAttribute('aria-pressed')).resolves.toBe('true')
    await seat.focus()
    await page.keyboard.press('Space')
    await expect(seat.getAttribute('aria-pressed')).resolves.toBe('false')
    await page.keyboard.press('Space')
    await expect(seat.getAttribute('aria-pressed')).resolves.toBe('true')
    let reachedPay = false
    for (let presses = 0; presses < 80 && !reachedPay; presses += 1) {
      await page.keyboard.press('Tab')
      reachedPay = await page.evaluate(() => document.activeElement?.textContent === 'Pay ₩165,000')
    }
    expect(reachedPay, 'Tab reaches the Pay button from the seat').toBe(true)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor()
    await expect(page.getByTestId('new-balance').textContent()).resolves.toBe('₩235,000')
    await checkScreen('confirmation')

    await page.getByRole('link', { name: 'My reservations' }).first().click()
    await page.getByRole('table').waitFor()
    await checkScreen('reservations')

    // Another queue, left while waiting: the place is given up (LEFT) and the page says so.
    await joinAhead(otherEventId)
    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Midnight Jazz Night' }).click()
    await page.getByTestId('position').waitFor()
    const token = await page.evaluate(
      (id) => JSON.parse(localStorage.getItem('concert.session.v1') ?? '{}').tickets[id].token as string,
      otherEventId,
    )
    await page.getByRole('button', { name: 'Leave the queue' }).click()
    await page.getByText('You left the queue.').waitFor()
    await page.getByRole('button', { name: 'Join the queue again' }).waitFor()
    await checkScreen('left-queue')
    const ticket = await (await fetch(new URL(`/v1/queue/tokens/${token}`, stack.pageUrl))).json()
    expect(ticket).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
    expect(browser.pageErrors).toEqual([])
  })

  it('the waiting room’s sale states: pre-queue countdown, paused, sold out, closed', async () => {
    const fan = await openBrowser(PHONE)
    try {
      const { page } = fan
      // Pre-queue: the sale opens in 10 minutes; the page counts down to it.
      const opensAt = new Date(Date.now() + 10 * 60_000).toISOString()
      await saleEvent(stack, 'Spring Opening', 10, { sale: { opensAt, preQueueMinutes: 15 } })
      await joinFromPage(fan, stack, 'Spring Opening', 'Alice')
      await page.getByText('The sale has not opened yet').waitFor()
      await expect(page.getByTestId('opens-in').textContent()).resolves.toMatch(/^(10:00|9:[0-5]\d)$/)
      await checkScreen('pre-queue', page)

      // Paused: three fans ahead keep their places, and so does this one.
      const paused = await saleEvent(stack, 'Paused Tour', 10)
      await admin(stack, 'PATCH', `/v1/admin/events/${paused.eventId}/queue`, { paused: true })
      await sleep(400) // the gateway's next refresh of event settings sees the pause
      for (const id of await insertAccounts(env.db, 3, { prefix: 'paused' })) {
        await joinByApi(stack, id, paused.eventId)
      }
      await page.goto(stack.pageUrl)
      await page.getByRole('button', { name: 'Join the queue for Paused Tour' }).click()
      await page.getByText('The organiser has paused the sale.', { exact: false }).waitFor()
      await expect(page.getByTestId('position').textContent()).resolves.toBe('4')
      await checkScreen('paused', page)

      // Sold out: a buyer holds the only READY slot and buys both seats while this fan waits.
      const soldOut = await saleEvent(stack, 'Sold Out Tour', 2)
      await admin(stack, 'PATCH', `/v1/admin/events/${soldOut.eventId}/queue`, { maxActive: 1 })
      const [buyer] = await insertAccounts(env.db, 1, { prefix: 'buyer', balance: 1_000_000 })
      const token = await joinByApi(stack, buyer as string, soldOut.eventId)
      await untilReady(stack, token)
      await page.goto(stack.pageUrl)
      await page.getByRole('button', { name: 'Join the queue for Sold Out Tour' }).click()
      await page.getByTestId('position').waitFor()
      await buyEverySeat(soldOut.scheduleId, token)
      await page.getByText('Sold out', { exact: true }).waitFor({ timeout: 15_000 })
      await checkScreen('sold-out', page)

      // Closed: the sale window ends while this fan waits behind the buyer of the only slot.
      const closesAt = new Date(Date.now() + 6_000).toISOString()
      const closing = await saleEvent(stack, 'Closing Tour', 2, { sale: { closesAt } })
      await admin(stack, 'PATCH', `/v1/admin/events/${closing.eventId}/queue`, { maxActive: 1 })
      await untilReady(stack, await joinByApi(stack, buyer as string, closing.eventId))
      await page.goto(stack.pageUrl)
      await page.getByRole('button', { name: 'Join the queue for Closing Tour' }).click()
      await page.getByTestId('position').waitFor()
      await page.getByText('The sale has closed', { exact: true }).waitFor({ timeout: 20_000 })
      await checkScreen('sale-closed', page)
      expect(fan.pageErrors).toEqual([])
    } finally {
      await fan.close()
    }
  })
})

/** The READY token's holder buys every seat of the show in one order. */
async function buyEverySeat(scheduleId: number, token: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}` }
  const map = await stack.booking.inject({
    method: 'GET',
    url: `/v1/schedules/${scheduleId}/seats`,
    headers: auth,
  })
  expect(map.statusCode, map.body).toBe(200)
  const sale = await stack.booking.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: auth,
    payload: { scheduleId, seatIds: map.json().seats.map((seat: { seatId: number }) => seat.seatId) },
  })
  expect(sale.statusCode, sale.body).toBe(201)
}
