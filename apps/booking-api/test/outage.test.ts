import { parseMetrics, sampleValue, useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { bearer, buildBooking } from './helpers.js'

const env = useTestEnv()

describe('when a backing store is down', () => {
  it('MySQL down: writes answer 503 SERVICE_UNAVAILABLE, never a 500 or a stack', async () => {
    const app = await buildBooking(env, { MYSQL_URL: 'mysql://root@127.0.0.1:1/nothing' })
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        payload: { email: 'down@example.com', name: 'Down' },
      })
      expect(created.statusCode).toBe(503)
      expect(created.json().code).toBe('SERVICE_UNAVAILABLE')
      expect(created.json().detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at /)
      const charge = await app.inject({
        method: 'POST',
        url: '/v1/accounts/a/balance/charge',
        payload: { amount: 1 },
      })
      expect(charge.statusCode).toBe(503)
      // /metrics still answers, so the 503s are seen during the outage; the seats left
      // (a MySQL count) are left out rather than failing the scrape.
      const scraped = await app.inject({ method: 'GET', url: '/metrics' })
      expect(scraped.statusCode).toBe(200)
      const metrics = parseMetrics(scraped.body)
      expect(metrics.get('booking_seats_left')?.samples).toEqual([])
      expect(
        sampleValue(metrics.get('http_request_duration_seconds'), {
          route: '/v1/accounts/:accountId/balance/charge',
          status: '503',
        }),
      ).toBe(1)
    } finally {
      await app.close()
    }
  })

  it('Redis down: guarded routes answer 503 instead of letting anyone through', async () => {
    const app = await buildBooking(env, { REDIS_URL: 'redis://127.0.0.1:1' })
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer('1.AAAAAAAAAAAAAAAAAAAAAA'),
        payload: { scheduleId: 1, seatId: 1 },
      })
      expect(response.statusCode).toBe(503)
      expect(response.json().code).toBe('SERVICE_UNAVAILABLE')
    } finally {
      await app.close()
    }
  })
})
