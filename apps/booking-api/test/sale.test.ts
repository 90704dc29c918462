import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { readTokenState, sleep } from '@concert/queue/testing'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { appEnv, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants } from './helpers.js'

// A whole on-sale in miniature: 120 fans, 30 READY slots, a 2 s buying window, the
// admission and mirror loops running, every fan polling, picking seats and paying at once.
const env = useTestEnv({ poolSize: 3 })
let gateway: App
let booking: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>
let fans: string[]
let closed = false

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  fans = await insertAccounts(env.db, 120, { prefix: 'sale', balance: 400_000 })
  gateway = await buildGatewayApp({
    config: loadGatewayConfig(
      appEnv(env, {
        LOG_LEVEL: 'silent',
        DB_POOL_SIZE: '3',
        QUEUE_ADMIT_INTERVAL_MS: '50',
        QUEUE_ADMIT_PER_SECOND: '60',
        QUEUE_MAX_ACTIVE: '30',
        QUEUE_ACTIVE_TTL_SECONDS: '2',
        ISSUE_RATE_LIMIT_PER_MINUTE: '100000',
      }),
    ),
    logger: false,
  })
  await gateway.ready()
  booking = await buildBooking(env, {}, { poolSize: 4 })
}, 60_000)
afterAll(async () => {
  if (!closed) await gateway?.close()
  await booking?.close()
})

describe('an on-sale, end to end', () => {
  it('never answers 5xx, sells each seat once, charges each buyer once, and mirrors every token', async () => {
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId) as { id: number }
    const statuses: number[] = []
    const tokens: string[] = []

    async function fan(
      accountId: string,
      index: number,
    ): Promise<'bought' | 'gave-up' | 'left' | 'timed-out'> {
      const joined = await gateway.inject({
        method: 'POST',
        url: '/v1/queue/tokens',
        payload: { accountId, eventId: catalog.eventId },
      })
      statuses.push(joined.statusCode)
      const token = joined.json().token as string
      tokens.push(token)
      for (;;) {
        const ticket = (await gateway.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })).json()
        if (ticket.status === 'EXPIRED') return 'timed-out'
        if (ticket.status === 'READY') break
        if (index % 17 === 0) {
          statuses.push(
            (await gateway.inject({ method: 'DELETE', url: `/v1/queue/tokens/${token}` })).statusCode,
          )
          return 'left'
        }
        await sleep(50)
      }
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const map = await booking.inject({
          method: 'GET',
          url: `/v1/schedules/${schedule.id}/seats`,
          headers: bearer(token),
        })
        statuses.push(map.statusCode)
        if (map.statusCode !== 200) return 'timed-out'
        const free = map.json().seats.filter((s: { status: string }) => s.status === 'AVAILABLE')
        if (free.length === 0) return 'gave-up'
        const seat = free[(index * 7 + attempt) % free.length]
        const bought = await booking.inject({
          method: 'POST',
          url: '/v1/reservations',
          headers: bearer(token),
          payload: { scheduleId: schedule.id, seatId: seat.seatId },
        })
        statuses.push(bought.statusCode)
        if (bought.statusCode === 201) return 'bought'
        if (bought.statusCode === 401) return 'timed-out'
      }
      return 'gave-up'
    }

    const outcomes = await Promise.all(fans.map((id, i) => fan(id, i)))
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    const bought = outcomes.filter((o) => o === 'bought').length
    expect(bought).toBeGreaterThan(20)
    expect(bought).toBeLessThanOrEqual(50)

    const reservations = await env.db
      .selectFrom('RESERVATION')
      .selectAll()
      .where('schedule_id', '=', schedule.id)
      .execute()
    expect(reservations).toHaveLength(bought)
    // One purchase per token, and so per fan here.
    expect(new Set(reservations.map((r) => r.account_id)).size).toBe(bought)
    await expectInvariants(env)

    // Every token's QUEUE_TOKEN row equals its Redis state once the mirror has caught up.
    // Closing the gateway stops its loops (nothing changes any more) and drains the mirror.
    await gateway.close()
    closed = true
    const keys = eventKeys(env.keyPrefix, catalog.eventId)
    for (const token of tokens) {
      const state = await readTokenState(env.redis, keys, token)
      const row = await env.db
        .selectFrom('QUEUE_TOKEN')
        .selectAll()
        .where('token', '=', token)
        .executeTakeFirstOrThrow()
      expect(
        { status: row.status, reason: row.reason, expires: row.expires_at?.getTime() ?? null },
        token,
      ).toEqual({
        status: state?.status,
        reason: state?.reason,
        expires: state?.expiresAt,
      })
    }
  }, 60_000)
})
