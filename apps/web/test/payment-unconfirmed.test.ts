import {
  accountBalance,
  isMysqlCommit,
  seedCatalog,
  startMysqlProxy,
  type TcpProxy,
  useTestEnv,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, openBrowser } from './browser.js'
import { type Stack, startStack } from './stack.js'

/*
 * A payment whose answer is lost: the booking API reaches MySQL through a proxy that lets
 * the COMMIT run, drops its answer and then cuts MySQL off, so the API cannot tell the
 * outcome and answers 503. The page must not leave the fan guessing: it sends the same
 * payment again (same Idempotency-Key) until it is answered, and shows the confirmation of
 * the one payment made, charged once.
 */

const env = useTestEnv()
let stack: Stack
let browser: Browser
let mysql: { proxy: TcpProxy; url: string }

beforeAll(async () => {
  await seedCatalog(env.db)
  mysql = await startMysqlProxy(env.mysqlUrl)
  stack = await startStack(env, { booking: { MYSQL_URL: mysql.url } })
  browser = await openBrowser()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
  await mysql?.proxy.close()
})

const balanceOf = (id: string) => accountBalance(env.db, id)

describe('a payment whose answer is lost with MySQL', () => {
  it('the page says it is checking, then shows the confirmation once MySQL is back; one sale, charged once', async () => {
    const { page } = browser
    const before = await balanceOf('demo-alice')
    await page.goto(stack.pageUrl)
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByRole('button', { name: 'Use Alice’s account' }).click()
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    const seat = page.getByRole('button', { name: /^Seat 1, area A, VIP, ₩165,000, / })
    await seat.click()
    await expect(seat.getAttribute('aria-pressed')).resolves.toBe('true')

    const lost = mysql.proxy.loseReplyTo(isMysqlCommit)
    lost.then(
      () => mysql.proxy.cut(),
      () => {},
    )
    await page.getByRole('button', { name: 'Pay ₩165,000' }).click()
    await lost
    // The sale committed; the page cannot know yet, and says so instead of an error.
    await page
      .getByText('We could not confirm your payment yet. Checking again…')
      .waitFor({ timeout: 10_000 })
    await expect(page.locator('[role="alert"][data-code]').count()).resolves.toBe(0)
    await expect(page.getByRole('heading', { name: 'Payment complete' }).count()).resolves.toBe(0)

    mysql.proxy.restore()
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20_000 })
    await expect(page.getByTestId('new-balance').textContent()).resolves.toBe(
      `₩${(before - 165_000).toLocaleString('en-US')}`,
    )
    expect(await balanceOf('demo-alice')).toBe(before - 165_000)
    const sales = await env.db
      .selectFrom('RESERVATION')
      .select(['account_id', 'status'])
      .where('account_id', '=', 'demo-alice')
      .execute()
    expect(sales).toEqual([{ account_id: 'demo-alice', status: 'SOLD' }])
  })
})
