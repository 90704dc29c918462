import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hiddenFromDocs } from '@concert/http'
import { ConfigError } from '@concert/shared'
import fastifyStatic from '@fastify/static'
import fp from 'fastify-plugin'

export interface WebAppOptions {
  /** Directory of the built fan web app (`apps/web/dist`). */
  dist: string
  /** Where browsers reach the booking API; its CORS_ORIGINS must allow this gateway's origin. */
  bookingUrl: string
}

export interface WebAppPluginOptions extends WebAppOptions {
  /**
   * Whether account routes need the account JWT (SPEC §11): the page then sends the
   * site's `account_token` cookie to the booking API too and hides the demo accounts.
   */
  accountAuth: boolean
}

/**
 * Everything the page may load or call: its own files, this gateway and the
 * booking API. Nothing from the internet (SPEC §10), and no inline script or style.
 */
function contentSecurityPolicy(bookingUrl: string): string {
  return [
    "default-src 'self'",
    `connect-src 'self' ${new URL(bookingUrl).origin}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/**
 * The fan web app (SPEC §10) under `/`: the built files with @fastify/static, one
 * route per file (no catch-all, so an unknown path still gets the API's
 * problem+json 404), and `/web-config.json`, which tells the page where the booking
 * API is and whether accounts are authenticated. The page itself calls this gateway same-origin.
 */
export const webAppPlugin = fp<WebAppPluginOptions>(
  async (app, { dist, bookingUrl, accountAuth }) => {
    const root = resolve(dist)
    if (!existsSync(join(root, 'index.html'))) {
      throw new ConfigError(
        `WEB_DIST (${root}) has no index.html: build the web app with "pnpm --filter @concert/web build"`,
      )
    }
    const policy = contentSecurityPolicy(bookingUrl)
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      // Set per file below instead of one max-age for everything.
      cacheControl: false,
      setHeaders: (response, path) => {
        response.setHeader('content-security-policy', policy)
        response.setHeader('x-content-type-options', 'nosniff')
        // Vite names bundles by content hash: they never change. The page and the rest are revalidated.
        response.setHeader(
          'cache-control',
          path.includes(`${root}/assets/`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        )
      },
    })
    app.get('/web-config.json', hiddenFromDocs, async (_request, reply) => {
      reply.header('cache-control', 'no-store')
      return { bookingUrl, accountAuth }
    })
  },
  { name: 'web-app' },
)
