import { sleep } from '@concert/queue/testing'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

// The gateway's tunables reach what they tune: built with a setting, the app behaves by it.
const env = useTestEnv()
let eventId: number

beforeAll(async () => {
  eventId = (await seedCatalog(env.db)).eventId
})

describe('gateway tunables from the environment', () => {
  it('KNOWN_ACCOUNTS_MISS_TTL_MS decides how long an unknown account stays unknown to joins', async () => {
    const remembering = await buildGateway(env, { KNOWN_ACCOUNTS_MISS_TTL_MS: '60000' })
    const forgetting = await buildGateway(env, { KNOWN_ACCOUNTS_MISS_TTL_MS: '0' })
    try {
      for (const app of [remembering, forgetting]) {
        expect((await join(app, 'late-1', eventId)).json().code).toBe('ACCOUNT_NOT_FOUND')
      }
      await insertAccounts(env.db, 1, { prefix: 'late' })
      // Still the cached miss for a minute on one copy; looked up again at once on the other.
      expect((await join(remembering, 'late-1', eventId)).json().code).toBe('ACCOUNT_NOT_FOUND')
      expect((await join(forgetting, 'late-1', eventId)).statusCode).toBe(201)
    } finally {
      await remembering.close()
      await forgetting.close()
    }
  })

  it('ISSUE_RATE_LIMIT_WINDOW_MS is the window ISSUE_RATE_LIMIT_PER_MINUTE counts in', async () => {
    await insertAccounts(env.db, 1, { prefix: 'window' })
    const app = await buildGateway(env, {
      ISSUE_RATE_LIMIT_PER_MINUTE: '1',
      ISSUE_RATE_LIMIT_WINDOW_MS: '1000',
    })
    const from = (ip: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/queue/tokens',
        payload: { accountId: 'window-1', eventId },
        remoteAddress: ip,
      })
    try {
      expect((await from('10.9.9.9')).statusCode).toBe(201)
      const refused = await from('10.9.9.9')
      expect(refused.statusCode).toBe(429)
      expect(refused.headers['retry-after']).toBe('1')
      await sleep(1_100)
      expect((await from('10.9.9.9')).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
  it('QUEUE_EVENTS_REFRESH_MS decides how soon a new event gets admissions', async () => {
    const [fan] = await insertAccounts(env.db, 1, { prefix: 'refresh' })
    // The default refresh is 5 s; at 200 ms a queue opened after startup is served within a second or so.
    const app = await buildGateway(
      env,
      { QUEUE_EVENTS_REFRESH_MS: '200', QUEUE_ADMIT_INTERVAL_MS: '50' },
      { workers: true },
    )
    try {
      const newEvent = await createEvent(env.db, 'Opened after startup')
      const ticket = (await join(app, fan as string, newEvent)).json()
      expect(ticket.status).toBe('WAITING')
      const deadline = Date.now() + 3_000
      let status = ticket.status
      while (status !== 'READY' && Date.now() < deadline) {
        await sleep(50)
        status = (await app.inject({ method: 'GET', url: `/v1/queue/tokens/${ticket.token}` })).json().status
      }
      expect(status).toBe('READY')
    } finally {
      await app.close()
    }
  })
})
