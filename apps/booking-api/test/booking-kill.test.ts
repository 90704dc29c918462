import { fileURLToPath } from 'node:url'
import type { App } from '@concert/http'
import {
  appEnv,
  baseProcessEnv,
  freePort,
  insertAccounts,
  lockWaiters,
  seedCatalog,
  startNode,
  stopProcesses,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, fastQueue, holdAccountRow, readyTokens } from './helpers.js'

/*
 * Issue 8: a booking copy killed with SIGKILL in the middle of a payment. The copy is a
 * real child process (server.ts, as deployed, default claim and seat-lock TTLs of 3 s
 * that it keeps renewing while the payment runs). The test holds the buyer's account row,
 * so the child's payment is inside its transaction, holding the token's claim and the
 * seat lock, when it dies. The fan then retries on another copy: while the dead copy's
 * claim lasts the answer is 409 TOKEN_BUSY with Retry-After (never a 5xx); as soon as it
 * lapses the same token pays, once, and the money adds up.
 */

const env = useTestEnv()
const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url))
/** The default CLAIM_TTL_MS: how long a dead copy's claim can outlive it. */
const CLAIM_TTL_MS = 3_000

let catalog: Awaited<ReturnType<typeof seedCatalog>>
let survivor: App

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  survivor = await buildBooking(env)
})
afterAll(async () => {
  await survivor?.close()
})

describe('a booking copy killed mid-payment', () => {
  it('the fan retries on another copy: 409 TOKEN_BUSY with Retry-After while the dead claim lasts, then pays once', async () => {
    const [accountId] = (await insertAccounts(env.db, 1, { prefix: 'victim', balance: 1_000_000 })) as [
      string,
    ]
    const token = (await readyTokens(env, catalog.eventId, [accountId])).get(accountId) as string
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId)
    const seat = catalog.seats[7]
    if (!schedule || !seat) throw new Error('no schedule or seat')
    const body = JSON.stringify({ scheduleId: schedule.id, seatId: seat.id })

    const port = await freePort()
    const { child, output } = startNode(['--conditions=development', '--import', 'tsx', serverEntry], {
      ...baseProcessEnv(),
      ...appEnv(env, { BOOKING_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    })
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`child exited: ${output()}`)
          return (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200
        },
        'booking child ready',
        45_000,
      )

      // Hold the buyer's account row, as a slow payment would, so the child's payment
      // stops inside its transaction: token claimed, seat locked, nothing committed.
      const hold = await holdAccountRow(env, accountId)
      const inFlight = fetch(`http://127.0.0.1:${port}/v1/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(token) },
        body,
      }).then(
        (response) => response.status,
        () => 0,
      )
      await waitFor(
        async () => (await lockWaiters(env)) === 1,
        'the child payment to wait for the account row',
      )
      // Let the child renew its claim at least once, so what it leaves is a renewed claim.
      await new Promise((resolve) => setTimeout(resolve, CLAIM_TTL_MS / 2))

      child.kill('SIGKILL')
      const killedAt = Date.now()
      await new Promise((resolve) => child.once('exit', resolve))
      await hold.release()
      expect(await inFlight, 'the request in flight died with the copy').toBe(0)

      const attempt = () =>
        survivor.inject({
          method: 'POST',
          url: '/v1/reservations',
          headers: { 'content-type': 'application/json', ...bearer(token) },
          payload: body,
        })
      const first = await attempt()
      expect(first.statusCode, first.body).toBe(409)
      expect(first.headers['content-type']).toContain('application/problem+json')
      expect(first.json().code).toBe('TOKEN_BUSY')
      expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1)

      // Retry as told (Retry-After), a little more often: every answer is 409 TOKEN_BUSY
      // or the sale; the sale comes once the dead claim lapsed (≤ CLAIM_TTL_MS after the kill).
      let paid = first
      const answers: string[] = []
      while (paid.statusCode !== 201 && Date.now() - killedAt < 4 * CLAIM_TTL_MS) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        paid = await attempt()
        answers.push(paid.statusCode === 201 ? '201' : `${paid.statusCode} ${paid.json().code}`)
      }
      for (const answer of answers.slice(0, -1)) expect(answer).toBe('409 TOKEN_BUSY')
      expect(paid.statusCode, paid.body).toBe(201)
      // "Within a couple of seconds" of the claim lapsing: the claim TTL, plus one retry step
      // and the payment itself.
      expect(Date.now() - killedAt).toBeLessThanOrEqual(CLAIM_TTL_MS + 2_000)

      const rows = await env.db
        .selectFrom('RESERVATION')
        .selectAll()
        .where('account_id', '=', accountId)
        .execute()
      expect(rows.map((r) => [r.schedule_id, r.seat_id, r.status])).toEqual([[schedule.id, seat.id, 'SOLD']])
      const account = await env.db
        .selectFrom('ACCOUNT')
        .select('amount')
        .where('id', '=', accountId)
        .executeTakeFirstOrThrow()
      expect(account.amount).toBe(1_000_000 - (rows[0]?.price as number))
      expect((await fastQueue(env).get(token, { touch: false }))?.status).toBe('EXPIRED')
      await expectInvariants(env)
    } finally {
      if (child.exitCode === null && child.signalCode === null) await stopProcesses([child], 'SIGKILL')
    }
  }, 90_000)
})
