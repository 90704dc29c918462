import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App } from '@concert/http'
import { ConfigError } from '@concert/shared'
import { useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadGatewayConfig } from '../src/config.js'
import { buildGateway } from './helpers.js'

const env = useTestEnv()
let dist: string
let app: App

beforeAll(async () => {
  // A stand-in for apps/web/dist: what matters here is how the gateway serves a build, not the build.
  dist = await mkdtemp(join(tmpdir(), 'gateway-web-'))
  await mkdir(join(dist, 'assets'))
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>fan app</title>')
  await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)')
  app = await buildGateway(env, { WEB_DIST: dist, WEB_BOOKING_URL: 'http://tickets.example:3001' })
})
afterAll(async () => {
  await app?.close()
  await rm(dist, { recursive: true, force: true })
})

describe('the gateway serves the fan web app from WEB_DIST', () => {
  it('serves index.html at / with a CSP that allows only itself and the booking API', async () => {
    const page = await app.inject({ method: 'GET', url: '/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
    expect(page.body).toContain('fan app')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("connect-src 'self' http://tickets.example:3001")
    expect(csp).toContain("script-src 'self'")
    expect(page.headers['cache-control']).toBe('no-cache')
  })

  it('serves hashed bundles as immutable', async () => {
    const bundle = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' })
    expect(bundle.statusCode).toBe(200)
    expect(bundle.headers['cache-control']).toBe('public, max-age=31536000, immutable')
  })

  it('tells the page where the booking API is, uncached; neither it nor the files are in the OpenAPI document', async () => {
    const config = await app.inject({ method: 'GET', url: '/web-config.json' })
    expect(config.json()).toEqual({ bookingUrl: 'http://tickets.example:3001', accountAuth: false })
    expect(config.headers['cache-control']).toBe('no-store')
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const paths = Object.keys(document.paths)
    expect(paths).not.toContain('/web-config.json')
    expect(paths.filter((path) => !path.startsWith('/v1/') && !path.startsWith('/health/'))).toEqual([])
  })

  it('adds no catch-all: unknown paths are still problem+json 404s and the API is untouched', async () => {
    const missing = await app.inject({ method: 'GET', url: '/no/such/page' })
    expect(missing.statusCode).toBe(404)
    expect(missing.headers['content-type']).toContain('application/problem+json')
    const outsideRoot = await app.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' })
    expect(outsideRoot.statusCode).toBe(404)
    const join = await app.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId: 'x' } })
    expect(join.statusCode).toBe(400)
    expect(join.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('tells the page when accounts are authenticated (SPEC §11), so it sends the cookie and hides the demo accounts', async () => {
    const withAuth = await buildGateway(env, {
      WEB_DIST: dist,
      WEB_BOOKING_URL: 'http://tickets.example:3001',
      AUTH_JWT_SECRET: 'a-test-secret-of-at-least-32-chars!',
    })
    try {
      const config = await withAuth.inject({ method: 'GET', url: '/web-config.json' })
      expect(config.json()).toEqual({ bookingUrl: 'http://tickets.example:3001', accountAuth: true })
    } finally {
      await withAuth.close()
    }
  })

  it('refuses to start on a WEB_DIST without index.html, naming the variable', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gateway-web-empty-'))
    try {
      await expect(buildGateway(env, { WEB_DIST: empty })).rejects.toThrow(/WEB_DIST .* has no index\.html/)
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })

  it('reads WEB_DIST and WEB_BOOKING_URL: no web app without WEB_DIST, a bad URL is a configuration error', () => {
    expect(loadGatewayConfig({}).web).toBeUndefined()
    expect(loadGatewayConfig({ WEB_DIST: '/srv/web' }).web).toEqual({
      dist: '/srv/web',
      bookingUrl: 'http://localhost:3001',
    })
    expect(() => loadGatewayConfig({ WEB_DIST: '/srv/web', WEB_BOOKING_URL: 'ftp://x' })).toThrow(ConfigError)
  })
})
