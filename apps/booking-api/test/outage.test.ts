import { useTestEnv } from '@concert/testing'
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
