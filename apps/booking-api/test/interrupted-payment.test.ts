import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { sleep } from '@concert/queue/testing'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, readyTokens } from './helpers.js'

const env = useTestEnv()
let app: App
let catalog: Awaited<ReturnType<typeof seedCatalog>>
const CLAIM_TTL_MS = 1_000
const SEAT_LOCK_TTL_MS = 1_000

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  app = await buildBooking(env, {
    CLAIM_TTL_MS: String(CLAIM_TTL_MS),
    CLAIM_WAIT_MS: '300',
    SEAT_LOCK_TTL_MS: String(SEAT_LOCK_TTL_MS),
  })
})
afterAll(async () => {
  await app?.close()
})

function reserve(token: string, scheduleId: number, seatId: number) {
  return app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: bearer(token),
    payload: { scheduleId, seatId },
  })
}

describe('a payment interrupted by a booking copy that died', () => {
  it('answers 409 TOKEN_BUSY with Retry-After while the dead claim lasts, then lets the fan pay', async () => {
    const [accountId] = await insertAccounts(env.db, 1, { prefix: 'crash', balance: 1_000_000 })
    const token = (await readyTokens(env, catalog.eventId, [accountId as string])).get(
      accountId as string,
    ) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId)
    const seat = catalog.seats[3]
    if (!schedule || !seat) throw new Error('no schedule or seat')

    // What a copy killed mid-payment leaves behind: its claim on the token and its seat
    // lock, each with the short TTL it was keeping alive, never released.
    const queue = fastQueue(env)
    expect((await queue.claim(token, 'dead-copy', CLAIM_TTL_MS)).ok).toBe(true)
    await env.redis.set(
      eventKeys(env.keyPrefix, schedule.event_id).seatKeyBase(schedule.id) + seat.id,
      'dead-copy',
      'PX',
      SEAT_LOCK_TTL_MS,
    )
    const killedAt = Date.now()

    const busy = await reserve(token, schedule.id, seat.id)
    expect(busy.statusCode).toBe(409)
    expect(busy.headers['content-type']).toContain('application/problem+json')
    expect(busy.json().code).toBe('TOKEN_BUSY')
    expect(Number(busy.headers['retry-after'])).toBeGreaterThanOrEqual(1)

    // The fan retries as told; once the dead claim lapsed (about a second), the payment goes through.
    let paid = busy
    while (paid.statusCode !== 201 && Date.now() - killedAt < 5_000) {
      await sleep(250)
      paid = await reserve(token, schedule.id, seat.id)
      expect([201, 409]).toContain(paid.statusCode)
    }
    expect(paid.statusCode).toBe(201)
    expect(Date.now() - killedAt).toBeLessThan(2_500)
    expect(paid.json()).toMatchObject({ accountId, scheduleId: schedule.id, seatId: seat.id })
    await expectInvariants(env)
  })

  it('keeps the claim and the seat lock alive while a slow payment runs past their TTL', async () => {
    const [accountId] = await insertAccounts(env.db, 1, { prefix: 'slow', balance: 1_000_000 })
    const token = (await readyTokens(env, catalog.eventId, [accountId as string])).get(
      accountId as string,
    ) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId)
    const seat = catalog.seats[4]
    if (!schedule || !seat) throw new Error('no schedule or seat')

    // Hold the account row so the payment transaction waits well past both TTLs.
    const blocker = env.db.transaction().execute(async (trx) => {
      await trx
        .selectFrom('ACCOUNT')
        .select('id')
        .where('id', '=', accountId as string)
        .forUpdate()
        .execute()
      await sleep(CLAIM_TTL_MS * 2.5)
    })
    await sleep(100)
    const slow = reserve(token, schedule.id, seat.id)
    await sleep(CLAIM_TTL_MS * 1.5)
    // Still its: a second attempt with the same token is told the payment is running.
    const second = await reserve(token, schedule.id, seat.id)
    expect(second.statusCode).toBe(409)
    expect(second.json().code).toBe('TOKEN_BUSY')
    await blocker
    expect((await slow).statusCode).toBe(201)
    await expectInvariants(env)
  })
})
