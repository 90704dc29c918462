import { useTestEnv } from '@concert/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { buildTestApp } from './test-app.js'

const env = useTestEnv()
const apps: App[] = []

async function build(overrides: Record<string, string> = {}) {
  const app = await buildTestApp(env, {}, overrides)
  apps.push(app)
  return app
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe('health endpoints', () => {
  it('live answers without touching dependencies', async () => {
    const app = await build({ MYSQL_URL: 'mysql://root@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' })
    const response = await app.inject({ method: 'GET', url: '/health/live' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
  })

  it('ready is 200 when MySQL and Redis both answer', async () => {
    const app = await build()
    const response = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      status: 'ok',
      checks: { mysql: { status: 'up' }, redis: { status: 'up' } },
    })
  })

  // Anyone can read /health/ready: it names the dependency, never where it lives.
  const leaksAddress = /127\.0\.0\.1|localhost|:1\b|:3306|:6379|mysql:\/\/|redis:\/\/|ECONNREFUSED/

  it('ready is 503 naming Redis, and no host or port, when Redis does not answer', async () => {
    const app = await build({ REDIS_URL: 'redis://127.0.0.1:1' })
    const response = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(response.statusCode).toBe(503)
    expect(response.headers['content-type']).toContain('application/problem+json')
    const body = response.json()
    expect(body.code).toBe('SERVICE_UNAVAILABLE')
    expect(body.detail).toBe('not ready: redis is down')
    expect(body.checks).toMatchObject({ mysql: { status: 'up' }, redis: { status: 'down' } })
    expect(response.body).not.toMatch(leaksAddress)
  })

  it('ready is 503 naming MySQL, and no host or port, when MySQL does not answer', async () => {
    const app = await build({ MYSQL_URL: 'mysql://root@127.0.0.1:1/none' })
    const response = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(response.statusCode).toBe(503)
    const body = response.json()
    expect(body.detail).toBe('not ready: mysql is down')
    expect(body.checks).toMatchObject({ mysql: { status: 'down' }, redis: { status: 'up' } })
    expect(response.body).not.toMatch(leaksAddress)
  })

  it('ready with both up shows no host or port either', async () => {
    const app = await build()
    const response = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(response.statusCode).toBe(200)
    expect(response.json().checks.redis.detail).toMatch(/^answered in \d+ ms$/)
    expect(response.body).not.toMatch(leaksAddress)
  })

  it('unknown routes get a problem+json 404', async () => {
    const app = await build()
    const response = await app.inject({ method: 'GET', url: '/nope?x=1' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      detail: 'no route for GET /nope',
    })
  })

  it('serves Prometheus metrics and the OpenAPI document', async () => {
    const app = await build()
    await app.inject({ method: 'GET', url: '/health/live' })
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toMatch(
      /http_request_duration_seconds_count\{app="test",method="GET",route="\/health\/live",status="200"\} 1/,
    )
    const openapi = await app.inject({ method: 'GET', url: '/docs/json' })
    expect(openapi.statusCode).toBe(200)
    expect(openapi.json().openapi).toBe('3.1.0')
    expect(Object.keys(openapi.json().paths)).toContain('/health/ready')
  })
})

describe('CORS', () => {
  it('sends no CORS headers unless origins are configured', async () => {
    const app = await build()
    const response = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://x.example' },
    })
    expect(response.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('lets configured browser origins call with a bearer token and read Retry-After', async () => {
    const app = await buildTestApp(env, { corsOrigins: ['https://tickets.example'] })
    apps.push(app)
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/health/live',
      headers: {
        origin: 'https://tickets.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    })
    expect(preflight.statusCode).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://tickets.example')
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/Authorization/)
    const other = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
    const allowed = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://tickets.example' },
    })
    expect(String(allowed.headers['access-control-expose-headers'])).toMatch(/Retry-After/)
  })
})
