import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, openBrowser } from './browser.js'
import { type Stack, startStack } from './stack.js'

const env = useTestEnv()
let events: { eventId: number; otherEventId: number }
// Enough fans ahead, and the page loaded before they join, that the waiting room is still
// waiting when the test looks at it, also on a loaded machine.
const AHEAD = 12
const open: { close(): Promise<void> }[] = []

beforeAll(async () => {
  events = await seedCatalog(env.db)
  await insertAccounts(env.db, AHEAD, { prefix: 'ahead' })
})
afterAll(async () => {
  for (const thing of open.reverse()) await thing.close()
})

async function joinAhead(stack: Stack, eventId: number): Promise<void> {
  for (let n = 1; n <= AHEAD; n += 1) {
    const answer = await fetch(new URL('/v1/queue/tokens', stack.pageUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: `ahead-${n}`, eventId }),
    })
    expect(answer.status).toBe(201)
  }
}

async function shownPosition(page: Page): Promise<number> {
  return Number(await page.getByTestId('position').textContent())
}

function heldToken(page: Page, eventId: number): Promise<string> {
  return page.evaluate(
    (id) => JSON.parse(localStorage.getItem('concert.session.v1') ?? '{}').tickets[id].token as string,
    eventId,
  )
}

describe('the waiting room keeps up when the live stream cannot', () => {
  it('polls when the gateway refuses the stream (429: the token already has its streams), and still gets to READY', async () => {
    const stack = await startStack(env, {
      gateway: { SSE_STREAMS_PER_TOKEN: '1', QUEUE_ADMIT_PER_SECOND: '2' },
    })
    open.push(stack)
    const { eventId } = events
    const browser: Browser = await openBrowser()
    open.push(browser)
    const { page } = browser
    await page.goto(stack.pageUrl)
    const join = page.getByRole('button', { name: 'Join the queue for Aurora World Tour in Seoul' })
    await join.waitFor()
    await joinAhead(stack, eventId)
    // Alice's ticket, and a stream on it held elsewhere: her page's own stream is one too many.
    const joined = await fetch(new URL('/v1/queue/tokens', stack.pageUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'demo-alice', eventId }),
    })
    const { token } = (await joined.json()) as { token: string }
    const elsewhere = new AbortController()
    const held = await fetch(new URL(`/v1/queue/tokens/${token}/stream`, stack.pageUrl), {
      signal: elsewhere.signal,
    })
    expect(held.status).toBe(200)
    // The closure holds the response: fetch cancels the body of a Response collected unread, ending the stream.
    open.push({
      close: async () => {
        elsewhere.abort()
        await held.body?.cancel().catch(() => undefined)
      },
    })

    await join.click()
    await page.getByRole('button', { name: 'Use Alice’s account' }).click()
    await page.getByText('Checking your place every few seconds.').waitFor()
    expect(await heldToken(page, eventId)).toBe(token)
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })

    const streamAttempts = browser.requests.filter((url) => url.endsWith(`/v1/queue/tokens/${token}/stream`))
    const polls = browser.requests.filter((url) => url.endsWith(`/v1/queue/tokens/${token}`))
    expect(streamAttempts.length).toBeGreaterThanOrEqual(1)
    // Several polls while waiting (the buy screen reads the ticket once more).
    expect(polls.length).toBeGreaterThanOrEqual(3)
    expect(browser.pageErrors).toEqual([])
  })

  it('a network blip: says it is reconnecting, then is live again with the same token and a place further on', async () => {
    const stack = await startStack(env, { proxy: true, gateway: { QUEUE_ADMIT_PER_SECOND: '1' } })
    open.push(stack)
    const proxy = stack.proxy
    if (!proxy) throw new Error('no proxy')
    const eventId = events.otherEventId
    const browser: Browser = await openBrowser()
    open.push(browser)
    const { page } = browser
    await page.goto(stack.pageUrl)
    const join = page.getByRole('button', { name: 'Join the queue for Midnight Jazz Night' })
    await join.waitFor()
    await joinAhead(stack, eventId)
    await join.click()
    await page.getByRole('button', { name: 'Use Bob’s account' }).click()
    await page.getByText('Live: your place updates by itself.').waitFor()
    const token = await heldToken(page, eventId)
    const before = await shownPosition(page)
    expect(before).toBeGreaterThanOrEqual(5)

    proxy.cut()
    await page.getByText('Connection lost. Reconnecting…').waitFor({ timeout: 10_000 })
    await page.waitForTimeout(2_500)
    proxy.restore()
    await page.getByText('Live: your place updates by itself.').waitFor({ timeout: 15_000 })

    // The queue moved on during the blip, and the page caught up without a reload or a new token.
    await expect.poll(() => shownPosition(page), { timeout: 5_000 }).toBeLessThan(before)
    expect(await heldToken(page, eventId)).toBe(token)
    await page.getByRole('heading', { name: /^Pick your seats/ }).waitFor({ timeout: 30_000 })
    const tokens = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select('token')
      .where('account_id', '=', 'demo-bob')
      .where('event_id', '=', eventId)
      .execute()
    expect(tokens.map((row) => row.token)).toEqual([token])
    expect(browser.pageErrors).toEqual([])
  })
})
