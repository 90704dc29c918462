import { accountBalance, seedCatalog, useTestEnv } from '@concert/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, openBrowser } from './browser.js'
import { type Stack, startStack } from './stack.js'

const env = useTestEnv()
let stack: Stack
let alice: Browser
let bob: Browser

beforeAll(async () => {
  await seedCatalog(env.db)
  stack = await startStack(env)
  ;[alice, bob] = await Promise.all([openBrowser(), openBrowser()])
})
afterAll(async () => {
  await Promise.all([alice?.close(), bob?.close()])
  await stack?.close()
})

const SEAT = /^Seat 1, area A, VIP, ₩165,000, /

/** Events → join → demo account → waiting room → READY → seat 1 of the first date selected. */
async function pickSeatOne(page: Page, demoName: string): Promise<void> {
  await page.goto(stack.pageUrl)
  await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
  await page.getByRole('button', { name: `Use ${demoName}’s account` }).click()
  await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
  const seat = page.getByRole('button', { name: SEAT })
  await seat.click()
  await expect(seat.getAttribute('aria-pressed')).resolves.toBe('true')
}

/** Which way a payment ended on the page: the confirmation, or the problem shown. */
async function outcome(page: Page): Promise<'confirmed' | string> {
  const confirmed = page.getByRole('heading', { name: 'Payment complete' })
  const problem = page.locator('[role="alert"][data-code]')
  await confirmed.or(problem).first().waitFor({ timeout: 20_000 })
  if (await confirmed.isVisible()) return 'confirmed'
  return (await problem.getAttribute('data-code')) ?? '?'
}

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('two browsers race for the same seat', () => {
  it('one confirmation; the other reads that the seat is taken, sees it sold, and keeps its money', async () => {
    const before: Record<string, number> = {
      'demo-alice': await balanceOf('demo-alice'),
      'demo-bob': await balanceOf('demo-bob'),
    }
    await Promise.all([pickSeatOne(alice.page, 'Alice'), pickSeatOne(bob.page, 'Bob')])

    const pay = (page: Page) => page.getByRole('button', { name: 'Pay ₩165,000' })
    await Promise.all([pay(alice.page).waitFor(), pay(bob.page).waitFor()])
    await Promise.all([pay(alice.page).click(), pay(bob.page).click()])
    const outcomes = await Promise.all([outcome(alice.page), outcome(bob.page)])

    expect(outcomes.filter((result) => result === 'confirmed')).toHaveLength(1)
    const loserIndex = outcomes.findIndex((result) => result !== 'confirmed')
    expect(['SEAT_ALREADY_RESERVED', 'SEAT_LOCKED']).toContain(outcomes[loserIndex])
    const [winnerId, loserId] = loserIndex === 0 ? ['demo-bob', 'demo-alice'] : ['demo-alice', 'demo-bob']
    const loser = (loserIndex === 0 ? alice : bob).page

    // The loser reads a clear "taken" message, and the live seat map shows the seat sold.
    await expect(loser.getByRole('alert').first().textContent()).resolves.toMatch(/taken/)
    const soldSeat = loser.getByRole('button', { name: new RegExp(`${SEAT.source}sold$`) })
    await soldSeat.waitFor({ timeout: 10_000 })
    await expect(soldSeat.isDisabled()).resolves.toBe(true)
    await expect(soldSeat.getAttribute('aria-pressed')).resolves.toBe('false')
    await expect(loser.getByRole('button', { name: 'Pay' }).isDisabled()).resolves.toBe(true)

    // One sale in the database, the winner's; the loser's money and ledger untouched.
    const sales = await env.db
      .selectFrom('RESERVATION as r')
      .innerJoin('VENUE_SEAT as s', 's.id', 'r.seat_id')
      .select(['r.account_id', 'r.price', 's.seat_number'])
      .execute()
    expect(sales).toEqual([{ account_id: winnerId, price: 165_000, seat_number: '1' }])
    expect(await balanceOf(winnerId)).toBe((before[winnerId] ?? 0) - 165_000)
    expect(await balanceOf(loserId)).toBe(before[loserId])
    const loserPayments = await env.db
      .selectFrom('BALANCE_HISTORY')
      .select('id')
      .where('account_id', '=', loserId)
      .where('type', '=', 'PAYMENT')
      .execute()
    expect(loserPayments).toEqual([])
    expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([])
  })
})
