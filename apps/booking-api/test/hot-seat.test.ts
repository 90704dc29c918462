import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import { readTokenState } from '@concert/queue/testing'
import { insertAccounts, seedCatalog, startMysqlProxy, type TcpProxy, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, buildBooking, expectInvariants, readyTokens } from './helpers.js'

const env = useTestEnv()
let app: App
let proxy: TcpProxy
let catalog: Awaited<ReturnType<typeof seedCatalog>>

beforeAll(async () => {
  catalog = await seedCatalog(env.db)
  // The booking API reaches MySQL only through this proxy, so the test can take MySQL away.
  const viaProxy = await startMysqlProxy(env.mysqlUrl)
  proxy = viaProxy.proxy
  app = await buildBooking(env, { MYSQL_URL: viaProxy.url }, { poolSize: 5 })
})
afterAll(async () => {
  proxy?.restore()
  await app?.close()
  await proxy?.close()
})

describe('the losers of a hot seat', () => {
  it('are answered from Redis: with MySQL unreachable, 100 later buyers of a sold seat all get 409 naming it, and keep their money and tokens', async () => {
    const accounts = await insertAccounts(env.db, 101, { prefix: 'hot', balance: 1_000_000 })
    const tokens = await readyTokens(env, catalog.eventId, accounts)
    const schedule = catalog.schedules.find((s) => s.event_id === catalog.eventId)
    const seat = catalog.seats[0]
    if (!schedule || !seat) throw new Error('no schedule or seat')
    const reserve = (accountId: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: bearer(tokens.get(accountId) as string),
        payload: { scheduleId: schedule.id, seatId: seat.id },
      })
    const [winner, ...losers] = accounts as [string, ...string[]]
    expect((await reserve(winner)).statusCode).toBe(201)

    proxy.cut()
    const answers = await Promise.all(losers.map((id) => reserve(id)))
    proxy.restore()

    expect(answers.map((a) => a.statusCode)).toEqual(losers.map(() => 409))
    for (const answer of answers) {
      expect(answer.json()).toMatchObject({ code: 'SEAT_ALREADY_RESERVED', seatIds: [seat.id] })
    }
    const k = eventKeys(env.keyPrefix, catalog.eventId)
    const statuses = await Promise.all(
      losers.map(async (id) => (await readTokenState(env.redis, k, tokens.get(id) as string))?.status),
    )
    expect(statuses).toEqual(losers.map(() => 'READY'))
    const rows = await env.db
      .selectFrom('RESERVATION')
      .select('account_id')
      .where('schedule_id', '=', schedule.id)
      .where('seat_id', '=', seat.id)
      .execute()
    expect(rows).toEqual([{ account_id: winner }])
    const balances = await env.db.selectFrom('ACCOUNT').select('amount').where('id', 'in', losers).execute()
    expect(balances.map((b) => b.amount)).toEqual(losers.map(() => 1_000_000))
    await expectInvariants(env)
  })
})
