import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  adminStackOptions,
  buyByApi,
  joinByApi,
  joinFromPage,
  saleEvent,
  seatIdsOf,
  untilReady,
} from './admin.js'
import { useFreshBrowsers } from './browser.js'
import { type Stack, startStack } from './stack.js'

/*
 * The seat map on its own: it offers no more seats than the event allows in one order
 * (SPEC §9, `maxSeatsPerOrder` from the seat map's answer), and it shows a seat someone
 * else bought while the fan looks at it, by itself.
 */
const env = useTestEnv()
let stack: Stack
const freshBrowser = useFreshBrowsers()

beforeAll(async () => {
  await seedCatalog(env.db)
  stack = await startStack(env, adminStackOptions())
})
afterAll(async () => {
  await stack?.close()
})

/** The button of seat `number` (area A, type R, ₩50,000, as saleEvent makes them) in `state`. */
const seat = (page: Page, number: number, state: 'available' | 'sold') =>
  page.getByRole('button', { name: `Seat ${number}, area A, R, ₩50,000, ${state}`, exact: true })

describe('the seat map', () => {
  it('offers at most the event’s seats per order (2 here): a third seat is not selected, and the page says why', async () => {
    const { eventId } = await saleEvent(stack, 'Two Per Order', 10, { limits: { maxSeatsPerOrder: 2 } })
    const fan = await freshBrowser()
    const { page } = fan
    await joinFromPage(fan, stack, 'Two Per Order', 'Alice')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    await page.getByText(/^Pick up to 2 seats\./).waitFor()

    for (const number of [1, 2]) {
      await seat(page, number, 'available').click()
      await expect(seat(page, number, 'available').getAttribute('aria-pressed')).resolves.toBe('true')
    }
    await seat(page, 3, 'available').click()
    await expect(seat(page, 3, 'available').getAttribute('aria-pressed')).resolves.toBe('false')
    await page
      .getByText('You can pick up to 2 seats in one order. Unselect a seat to pick Seat 3 instead.', {
        exact: true,
      })
      .waitFor()
    await expect(page.locator('.seat[aria-pressed="true"]').count()).resolves.toBe(2)
    await page.getByRole('button', { name: 'Pay ₩100,000' }).waitFor()

    // Unselecting one makes room: the limit counts seats, it does not pin them.
    await seat(page, 1, 'available').click()
    await seat(page, 3, 'available').click()
    await expect(seat(page, 3, 'available').getAttribute('aria-pressed')).resolves.toBe('true')
    await page.getByRole('button', { name: 'Pay ₩100,000' }).click()
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor()
    const sold = await env.db
      .selectFrom('RESERVATION as r')
      .innerJoin('EVENT_SCHEDULE as s', 's.id', 'r.schedule_id')
      .innerJoin('VENUE_SEAT as v', 'v.id', 'r.seat_id')
      .select(['r.account_id', 'v.seat_number'])
      .where('s.event_id', '=', eventId)
      .orderBy('v.seat_number')
      .execute()
    expect(sold).toEqual([
      { account_id: 'demo-alice', seat_number: '2' },
      { account_id: 'demo-alice', seat_number: '3' },
    ])
    expect(fan.pageErrors).toEqual([])
  })

  it('a fan short of money tops up and comes back to the seats they had picked, then pays', async () => {
    await saleEvent(stack, 'Short Of Money', 10)
    const fan = await freshBrowser()
    const { page } = fan
    // Carol has ₩50,000: two seats cost ₩100,000.
    await joinFromPage(fan, stack, 'Short Of Money', 'Carol')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    for (const number of [4, 5]) await seat(page, number, 'available').click()
    await page.getByRole('button', { name: 'Pay ₩100,000' }).click()
    await page.locator('[data-code="INSUFFICIENT_BALANCE"]').waitFor()

    await page.getByRole('link', { name: 'Top up your balance' }).click()
    await page.getByLabel('Amount in won').fill('100000')
    await page.getByRole('button', { name: 'Add ₩100,000' }).click()
    await page.getByText(/^Added ₩100,000\./).waitFor()
    await page.getByRole('link', { name: 'Back to your seats' }).click()

    // The same show, the same two seats picked, the clock still running.
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor()
    for (const number of [4, 5])
      await expect(seat(page, number, 'available').getAttribute('aria-pressed')).resolves.toBe('true')
    await expect(page.locator('.seat[aria-pressed="true"]').count()).resolves.toBe(2)
    await page.getByRole('button', { name: 'Pay ₩100,000' }).click()
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor()
    expect(fan.pageErrors).toEqual([])
  })

  it('a seat map whose stored queue token the gateway no longer knows offers to join again, which brings the fan back to the seats', async () => {
    const { eventId } = await saleEvent(stack, 'Forgotten Token', 5)
    const fan = await freshBrowser()
    const { page } = fan
    await joinFromPage(fan, stack, 'Forgotten Token', 'Bob')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    // The page's stored token is one the gateway has forgotten (its retention long over),
    // written before the page's scripts run (the open page writes its session as it goes).
    await page.addInitScript((id) => {
      const session = JSON.parse(localStorage.getItem('concert.session.v1') ?? '{}')
      session.tickets[id].token = `${id}.${'A'.repeat(22)}`
      localStorage.setItem('concert.session.v1', JSON.stringify(session))
    }, eventId)
    await page.reload()
    const problem = page.locator('[data-code="TOKEN_NOT_FOUND"]')
    await problem.waitFor()
    await problem.getByRole('button', { name: 'Join the queue again' }).click()
    // Joining again answers Bob's live ticket, still READY: the seats once more.
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    await seat(page, 1, 'available').waitFor()
    expect(fan.pageErrors).toEqual([])
  })

  it('a place that paid in another tab ends this tab’s window saying so, not “join again”', async () => {
    const { scheduleId } = await saleEvent(stack, 'Two Tabs', 5)
    const fan = await freshBrowser()
    const { page } = fan
    await joinFromPage(fan, stack, 'Two Tabs', 'Alice')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    await seat(page, 1, 'available').click()
    // Another tab of the same fan pays with the same place.
    const token = await page.evaluate(
      () =>
        Object.values(JSON.parse(localStorage.getItem('concert.session.v1') ?? '{}').tickets).at(-1) as {
          token: string
        },
    )
    const [, second] = await seatIdsOf(stack, scheduleId, token.token)
    await buyByApi(stack, token.token, scheduleId, [second as number])
    // This tab learns it at its next refresh or at Pay, whichever comes first.
    await page
      .getByRole('button', { name: 'Pay ₩50,000' })
      .click({ timeout: 2_000 })
      .catch(() => undefined)
    await page.getByText('You have bought your tickets with this place in the queue.').waitFor()
    expect(fan.pageErrors).toEqual([])
  })

  it('a device whose clock is 10 minutes fast still counts the buying window from the servers’ clock', async () => {
    await saleEvent(stack, 'Fast Clock', 5)
    const fan = await freshBrowser()
    const { page } = fan
    await page.clock.install({ time: Date.now() + 10 * 60_000 })
    await joinFromPage(fan, stack, 'Fast Clock', 'Bob')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    // The window is 5 minutes (QUEUE_ACTIVE_TTL_SECONDS' default): not over, as this clock alone would say.
    const left = page.getByTestId('time-left')
    await left.waitFor()
    await expect(left.textContent()).resolves.toMatch(/^[45]:\d\d$/)
    await expect(page.getByText('Your time to buy is up.').count()).resolves.toBe(0)
    expect(fan.pageErrors).toEqual([])
  })

  it('giving up the turn frees the READY slot for the next fan at once', async () => {
    const { eventId } = await saleEvent(stack, 'One Slot', 5, {
      queue: { maxActive: 1, admitPerSecond: 100 },
    })
    const fan = await freshBrowser()
    const { page } = fan
    await joinFromPage(fan, stack, 'One Slot', 'Alice')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    const [next] = await insertAccounts(env.db, 1, { prefix: 'next-in-line' })
    const nextToken = await joinByApi(stack, next as string, eventId)

    await page.getByRole('button', { name: 'Give up my turn' }).click()
    await page.getByRole('button', { name: 'Keep my turn' }).click()
    await expect(page.getByTestId('time-left').count()).resolves.toBe(1)
    await page.getByRole('button', { name: 'Give up my turn' }).click()
    await page.getByRole('button', { name: 'Yes, give up my turn' }).click()
    await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()

    const left = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['status', 'reason'])
      .where('event_id', '=', eventId)
      .where('account_id', '=', 'demo-alice')
      .executeTakeFirstOrThrow()
    expect(left).toEqual({ status: 'EXPIRED', reason: 'LEFT' })
    // The one slot is the next fan's, long before Alice's 5-minute window would have ended.
    await untilReady(stack, nextToken)
    expect(fan.pageErrors).toEqual([])
  })

  it('shows a seat sold to someone else as sold by itself: no click, no reload', async () => {
    const { eventId, scheduleId } = await saleEvent(stack, 'Live Seats', 10)
    const fan = await freshBrowser()
    const { page } = fan
    await joinFromPage(fan, stack, 'Live Seats', 'Bob')
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    await seat(page, 5, 'available').waitFor()
    await page.evaluate(() => {
      ;(window as unknown as { notReloaded: boolean }).notReloaded = true
    })

    // Another fan buys seat 5 through the API while Bob's seat map is open.
    const [rival] = await insertAccounts(env.db, 1, { prefix: 'rival', balance: 1_000_000 })
    const token = await joinByApi(stack, rival as string, eventId)
    await untilReady(stack, token)
    const seatId = Number(await seat(page, 5, 'available').getAttribute('data-seat-id'))
    await buyByApi(stack, token, scheduleId, [seatId])

    // The page reads the seat map again every 2 s; a generous wait, not a timing assertion.
    await seat(page, 5, 'sold').waitFor({ timeout: 15_000 })
    await expect(seat(page, 5, 'sold').isDisabled()).resolves.toBe(true)
    await expect(seat(page, 4, 'available').isEnabled()).resolves.toBe(true)
    await expect(
      page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    ).resolves.toBe(true)
    expect(fan.pageErrors).toEqual([])
    // The one sale is the rival's.
    const sold = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'seat_id'])
      .where('schedule_id', '=', scheduleId)
      .execute()
    expect(sold).toEqual([{ account_id: rival, seat_id: seatId }])
  })
})
