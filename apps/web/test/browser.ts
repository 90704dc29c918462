import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterEach } from 'vitest'

/** Debian's Chromium; .ci/run installs it when missing. The browser tests never skip. */
export const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]
const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

export const PHONE = { width: 375, height: 812 }
export const DESKTOP = { width: 1280, height: 900 }

export interface Browser {
  context: BrowserContext
  page: Page
  /** Every URL the page requested, to check that nothing came from the internet. */
  requests: string[]
  /** Uncaught errors in the page. */
  pageErrors: Error[]
  close(): Promise<void>
}

/**
 * A fresh Chromium with its own user-data-dir (a new profile: no cache, no storage).
 * axe-core is added to every page as an init script, which the page's CSP does not block.
 */
export async function openBrowser(viewport = DESKTOP): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run "apt-get install -y chromium" (or .ci/run)`)
  }
  const profile = await mkdtemp(join(tmpdir(), 'concert-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
  })
  await context.addInitScript({ path: AXE_SCRIPT })
  const page = context.pages()[0] ?? (await context.newPage())
  const requests: string[] = []
  const pageErrors: Error[] = []
  page.on('request', (request) => requests.push(request.url()))
  page.on('pageerror', (error) => pageErrors.push(error))
  return {
    context,
    page,
    requests,
    pageErrors,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/**
 * For a test file: `fresh()` opens a browser with a new profile (so no remembered account)
 * that is closed after the test that opened it.
 */
export function useFreshBrowsers(): (viewport?: typeof DESKTOP) => Promise<Browser> {
  const open: Browser[] = []
  afterEach(async () => {
    for (const browser of open.splice(0)) await browser.close()
  })
  return async (viewport = DESKTOP) => {
    const browser = await openBrowser(viewport)
    open.push(browser)
    return browser
  }
}

/** The hash route the page shows now (`/events/1/queue`). */
export function routeOf(page: Page): string {
  return new URL(page.url()).hash.replace(/^#/, '') || '/'
}
