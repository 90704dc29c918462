import { parseMetrics, sampleValue, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../src/index.js'
import { buildTestApp } from './test-app.js'

/*
 * Load shedding (@fastify/under-pressure): while the event loop lags past
 * MAX_EVENT_LOOP_DELAY_MS, requests get 503 problem+json with Retry-After at once
 * instead of queueing behind the stall; liveness and metrics still answer.
 */

const env = useTestEnv()
let app: App

beforeAll(async () => {
  app = await buildTestApp(env, {
    name: 'pressure',
    ops: { maxEventLoopDelayMs: 50, buildRevision: 'test', prettyLogs: false },
  })
  app.get('/work', async () => ({ done: true }))
  await app.ready()
  // Past the settling time after start (two samples).
  await new Promise((resolve) => setTimeout(resolve, 700))
})
afterAll(async () => {
  await app?.close()
})

/** Keeps the event loop busy 200 ms at a time, as a CPU-bound stall would. */
function stall(ms = 200): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy
  }
  // Let the sampler's overdue timer run before the next request.
  return new Promise((resolve) => setImmediate(resolve))
}

describe('under pressure', () => {
  it('answers normally while the loop is idle', async () => {
    expect((await app.inject({ method: 'GET', url: '/work' })).statusCode).toBe(200)
  })

  it('sheds with 503 SERVICE_UNAVAILABLE and Retry-After while the loop lags; /health/live and /metrics still answer', async () => {
    let shed: Awaited<ReturnType<App['inject']>> | undefined
    for (let attempt = 0; attempt < 20 && !shed; attempt += 1) {
      await stall()
      const response = await app.inject({
        method: 'GET',
        url: '/work',
        headers: { 'x-request-id': 'shed-1' },
      })
      if (response.statusCode === 503) shed = response
      else expect(response.statusCode).toBe(200)
    }
    expect(shed?.headers['content-type']).toContain('application/problem+json')
    expect(shed?.headers['retry-after']).toBe('2')
    expect(shed?.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      status: 503,
      instance: 'urn:request:shed-1',
    })

    // Still under pressure, the exempt routes answer.
    const live = await app.inject({ method: 'GET', url: '/health/live' })
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(app.isUnderPressure()).toBe(true)
    expect(live.statusCode).toBe(200)
    expect(metrics.statusCode).toBe(200)
    expect(sampleValue(parseMetrics(metrics.body).get('http_requests_shed_total'))).toBeGreaterThanOrEqual(1)
  })

  it('recovers once the loop is idle again', async () => {
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(app.isUnderPressure()).toBe(false)
    expect((await app.inject({ method: 'GET', url: '/work' })).statusCode).toBe(200)
  })
})
