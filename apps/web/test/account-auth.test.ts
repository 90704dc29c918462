import { insertAccounts, seedCatalog, signAccountToken, useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { seriousViolations } from './axe.js'
import { type Browser, openBrowser } from './browser.js'
import { type Stack, startStack } from './stack.js'

/*
 * The web app with account auth on (SPEC §11): both apps check an HS256 account JWT,
 * which the site's login would have left in the `account_token` cookie. The cookie is
 * set for the page's host; cookies are not port-specific, so the browser sends it to
 * the gateway (same origin) and, with credentials, to the booking API (another port).
 */
const SECRET = 'a-test-secret-of-at-least-32-chars!'
const FAN = 'site-user-x'
const SESSION_KEY = 'concert.session.v1'
const env = useTestEnv()
let stack: Stack
let browser: Browser
let other: string

beforeAll(async () => {
  await seedCatalog(env.db)
  ;[other] = (await insertAccounts(env.db, 1, { prefix: 'other', balance: 50_000 })) as [string]
  stack = await startStack(env, {
    gateway: { AUTH_JWT_SECRET: SECRET },
    booking: { AUTH_JWT_SECRET: SECRET },
  })
  browser = await openBrowser()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
})
beforeEach(async () => {
  // Each case starts as a visitor the site knows nothing about: no cookie, no session.
  await browser.context.clearCookies()
  await setStoredSession(null)
})

/**
 * Replaces what the page remembers (localStorage), from a page of the same origin
 * that is not the app, so no running app writes its session back; the app reads it
 * when it is next loaded.
 */
async function setStoredSession(session: object | null): Promise<void> {
  await browser.page.goto(new URL('/web-config.json', stack.pageUrl).href)
  await browser.page.evaluate(
    ([key, value]) => (value === null ? localStorage.clear() : localStorage.setItem(key, value)),
    [SESSION_KEY, session === null ? null : JSON.stringify(session)] as const,
  )
}

/** What the site's login would do: the account JWT as an HttpOnly cookie for the page's host. */
async function signInToSite(accountId: string): Promise<void> {
  await browser.context.addCookies([
    {
      name: 'account_token',
      value: await signAccountToken(accountId, { secret: SECRET }, { expiresIn: 600 }),
      url: stack.pageUrl,
      httpOnly: true,
      sameSite: 'Lax',
    },
  ])
}

async function openAccountScreen(): Promise<void> {
  const { page } = browser
  await page.goto(stack.pageUrl)
  await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()
  await page.getByRole('link', { name: 'Sign up' }).click()
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor()
}

async function signUp(name: string, email: string): Promise<void> {
  const { page } = browser
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Email').fill(email)
  await page.getByRole('button', { name: 'Sign up' }).click()
}

async function balanceOf(accountId: string): Promise<number | undefined> {
  const row = await env.db
    .selectFrom('ACCOUNT')
    .select('amount')
    .where('id', '=', accountId)
    .executeTakeFirst()
  return row?.amount
}

async function ledgerOf(accountId: string): Promise<Array<[string, number]>> {
  const ledger = await sql<{ type: string; amount: number }>`
    SELECT type, amount FROM BALANCE_HISTORY WHERE account_id = ${accountId} ORDER BY id`.execute(env.db)
  return ledger.rows.map((row) => [row.type, Number(row.amount)])
}

describe('the web app with account auth on (the site’s account_token cookie)', () => {
  it('signed in as X: sign-up creates X, tops up, joins, READY, buys a seat; signing up again goes on with X', async () => {
    const { page } = browser
    await signInToSite(FAN)
    await openAccountScreen()
    // The site's login decides who the fan is: no demo accounts to pick.
    await page.getByText('Your ticket account is the one you are signed in to this site with.').waitFor()
    await expect(page.getByRole('heading', { name: 'Or try a demo account' }).count()).resolves.toBe(0)
    expect(await seriousViolations(page), 'axe on the account screen with auth on').toEqual([])

    await signUp('Site Fan', 'site.fan@example.com')
    await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()
    const account = await env.db
      .selectFrom('ACCOUNT')
      .select(['id', 'name', 'email', 'amount'])
      .where('email', '=', 'site.fan@example.com')
      .executeTakeFirstOrThrow()
    expect(account).toEqual({ id: FAN, name: 'Site Fan', email: 'site.fan@example.com', amount: 0 })

    // Top up (booking API, another origin: the cookie goes with credentials).
    await page.getByRole('navigation').getByRole('link', { name: 'Top up' }).click()
    await page.getByLabel('Amount in won').fill('300000')
    await page.getByRole('button', { name: 'Add ₩300,000' }).click()
    await page.getByText('Added ₩300,000. Your balance is now ₩300,000.').waitFor()

    // Join (gateway, same origin), READY, one seat, pay.
    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    const seat = page.getByRole('button', { name: /^Seat 11, area B, R, ₩143,000, available$/ })
    await seat.click()
    await page.getByRole('button', { name: 'Pay ₩143,000' }).click()
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor()
    await expect(page.getByTestId('new-balance').textContent()).resolves.toBe('₩157,000')

    // My reservations: an account route read with the queue token and the cookie.
    await page.getByRole('link', { name: 'My reservations' }).first().click()
    await page.getByRole('heading', { name: 'My reservations' }).waitFor()
    const rows = page.getByRole('table').getByRole('row')
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2)

    const sold = await env.db
      .selectFrom('RESERVATION as r')
      .innerJoin('VENUE_SEAT as s', 's.id', 'r.seat_id')
      .select(['r.account_id', 's.seat_number', 'r.price'])
      .execute()
    expect(sold).toEqual([{ account_id: FAN, seat_number: '11', price: 143_000 }])
    await expect(balanceOf(FAN)).resolves.toBe(157_000)

    // The same fan on a new device (nothing stored): sign-up finds X and goes on with it.
    await setStoredSession(null)
    await openAccountScreen()
    await signUp('Site Fan', 'another.address@example.com')
    await page.getByText('You already have an account, so this page goes on with it.').waitFor()
    await page.getByText('You are using the account of Site Fan.').waitFor()
    expect(await seriousViolations(page), 'axe on the account screen after 409').toEqual([])
    await page.getByRole('button', { name: 'Continue as Site Fan' }).click()
    await page.getByRole('heading', { level: 1, name: 'Concerts on sale' }).waitFor()
    await page.getByRole('navigation').getByRole('link', { name: 'Top up' }).click()
    await page.getByLabel('Amount in won').fill('1000')
    await page.getByRole('button', { name: 'Add ₩1,000' }).click()
    await page.getByText('Added ₩1,000. Your balance is now ₩158,000.').waitFor()
    await expect(ledgerOf(FAN)).resolves.toEqual([
      ['CHARGE', 300_000],
      ['PAYMENT', -143_000],
      ['CHARGE', 1_000],
    ])
    const accounts = await env.db.selectFrom('ACCOUNT').select('id').where('id', '=', FAN).execute()
    expect(accounts).toEqual([{ id: FAN }])

    // Nothing came from anywhere but the two apps, and the page threw nothing.
    const origins = new Set(browser.requests.map((url) => new URL(url).origin))
    expect([...origins].sort()).toEqual([new URL(stack.pageUrl).origin, stack.bookingUrl].sort())
    expect(browser.pageErrors).toEqual([])
  })

  it('signed in as X, the page acting for Y (a session left by someone else): the forbidden message, nothing changes', async () => {
    const { page } = browser
    await signInToSite(FAN)
    // Someone else used this browser before: the page still remembers their account.
    await setStoredSession({ account: { id: other, name: 'Other Fan' }, tickets: {} })
    const ledgerBefore = await ledgerOf(other)
    expect(ledgerBefore).toEqual([['CHARGE', 50_000]])

    await page.goto(`${stack.pageUrl}#/top-up`)
    await page.getByRole('heading', { level: 1, name: 'Top up your balance' }).waitFor()
    await page.getByRole('button', { name: 'Add ₩100,000' }).click()
    const forbidden = page.getByRole('alert')
    await forbidden.getByText('You are signed in as someone else. Sign in with this account.').waitFor()
    await expect(forbidden.getAttribute('data-code')).resolves.toBe('ACCOUNT_FORBIDDEN')
    expect(await seriousViolations(page), 'axe on the forbidden top-up').toEqual([])

    await page.getByRole('navigation').getByRole('link', { name: 'Events' }).click()
    await page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' }).click()
    await page.getByRole('heading', { level: 1, name: /^Queue: / }).waitFor()
    await expect(page.getByRole('alert').getAttribute('data-code')).resolves.toBe('ACCOUNT_FORBIDDEN')
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'You are signed in as someone else. Sign in with this account.',
    )

    await expect(balanceOf(other)).resolves.toBe(50_000)
    await expect(ledgerOf(other)).resolves.toEqual(ledgerBefore)
    const tokens = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select('token')
      .where('account_id', '=', other)
      .execute()
    expect(tokens).toEqual([])
    expect(browser.pageErrors).toEqual([])
  })

  it('not signed in to the site: sign-up says to sign in first, and creates nothing', async () => {
    const { page } = browser
    const before = await env.db.selectFrom('ACCOUNT').select('id').orderBy('id').execute()
    await openAccountScreen()
    await signUp('Anonymous', 'anonymous@example.com')
    const alert = page.getByRole('alert')
    await alert.getByText('Please sign in to your account first.').waitFor()
    await expect(alert.getAttribute('data-code')).resolves.toBe('ACCOUNT_AUTH_REQUIRED')
    expect(await seriousViolations(page), 'axe on sign-up without the cookie').toEqual([])
    await expect(env.db.selectFrom('ACCOUNT').select('id').orderBy('id').execute()).resolves.toEqual(before)
    expect(browser.pageErrors).toEqual([])
  })
})
