import { useTestEnv } from '@concert/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { buildTestApp } from './test-app.js'

/*
 * CORS and credentials: the web app's cross-origin calls to the booking API carry the
 * account_token cookie (SPEC §11) only when the answer says
 * `Access-Control-Allow-Credentials: true` for the page's own origin.
 */

const env = useTestEnv()
const apps: App[] = []
const PAGE = 'https://tickets.example'

async function build(corsOrigins: string[] | '*') {
  const app = await buildTestApp(env, { corsOrigins })
  apps.push(app)
  app.post('/things', async () => ({ ok: true }))
  return app
}

function preflight(app: App, origin: string) {
  return app.inject({
    method: 'OPTIONS',
    url: '/things',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })
}

function post(app: App, origin: string) {
  return app.inject({ method: 'POST', url: '/things', headers: { origin }, payload: {} })
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe('CORS credentials', () => {
  it('a list of origins: each listed origin is named back and may send credentials, on the preflight and the call', async () => {
    const app = await build([PAGE, 'http://127.0.0.1:3000'])
    for (const origin of [PAGE, 'http://127.0.0.1:3000']) {
      const options = await preflight(app, origin)
      expect(options.statusCode).toBe(204)
      expect(options.headers['access-control-allow-origin']).toBe(origin)
      expect(options.headers['access-control-allow-credentials']).toBe('true')
      const call = await post(app, origin)
      expect(call.statusCode).toBe(200)
      expect(call.headers['access-control-allow-origin']).toBe(origin)
      expect(call.headers['access-control-allow-credentials']).toBe('true')
      // One cached answer must not serve another origin.
      expect(String(call.headers.vary)).toMatch(/\bOrigin\b/)
    }
  })

  it('an origin that is not listed is not named back, so the browser neither reads the answer nor sends cookies', async () => {
    const app = await build([PAGE])
    const call = await post(app, 'https://evil.example')
    expect(call.headers['access-control-allow-origin']).toBeUndefined()
    const options = await preflight(app, 'https://evil.example')
    expect(options.headers['access-control-allow-origin']).toBeUndefined()
  })

  it("'*': any origin may call, without credentials (browsers refuse them with a wildcard)", async () => {
    const app = await build('*')
    const options = await preflight(app, PAGE)
    expect(options.statusCode).toBe(204)
    expect(options.headers['access-control-allow-origin']).toBe('*')
    expect(options.headers['access-control-allow-credentials']).toBeUndefined()
    const call = await post(app, PAGE)
    expect(call.statusCode).toBe(200)
    expect(call.headers['access-control-allow-origin']).toBe('*')
    expect(call.headers['access-control-allow-credentials']).toBeUndefined()
  })

  it('no origins: no CORS headers at all', async () => {
    const app = await build([])
    const call = await post(app, PAGE)
    expect(call.headers['access-control-allow-origin']).toBeUndefined()
    expect(call.headers['access-control-allow-credentials']).toBeUndefined()
  })
})
