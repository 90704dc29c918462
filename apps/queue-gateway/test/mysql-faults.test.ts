import type { App } from '@concert/http'
import { readTokenState } from '@concert/queue/testing'
import {
  insertAccounts,
  seedCatalog,
  startMysqlProxy,
  type TcpProxy,
  tokenRowStatuses,
  useTestEnv,
  whileTokenRowsRefused,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sleep, within } from './helpers.js'

/*
 * MySQL faults the gateway must outlive. Gone silent: the connections stay open but nothing comes back (a partition, a
 * failed-over server, a NAT that forgot the flow). A statement sent on such a connection
 * waits until TCP gives up (about 15 minutes), and a join's group commit with it: the
 * event's durable lane stays taken, so every later join of the event is answered 503 long
 * after MySQL is back. DB_QUERY_TIMEOUT_MS bounds it (timeStatements). Refusing one
 * ticket's state for good: the mirror writes the rest and says so (writeApart).
 */

const env = useTestEnv()
let link: TcpProxy
let app: App
let eventId: number
let otherEventId: number

beforeAll(async () => {
  ;({ eventId, otherEventId } = await seedCatalog(env.db))
  await insertAccounts(env.db, 6, { prefix: 'm' })
  const viaProxy = await startMysqlProxy(env.mysqlUrl)
  link = viaProxy.proxy
  app = await buildGateway(env, { MYSQL_URL: viaProxy.url, DB_QUERY_TIMEOUT_MS: '2000' })
})
afterAll(async () => {
  link?.restore()
  await app?.close()
  await link?.close()
})

/** Whether the account's ticket for the event is in QUEUE_TOKEN. */
async function written(accountId: string): Promise<boolean> {
  const row = await env.db
    .selectFrom('QUEUE_TOKEN')
    .select('token')
    .where('event_id', '=', eventId)
    .where('account_id', '=', accountId)
    .executeTakeFirst()
  return row !== undefined
}

describe('when MySQL goes silent without closing the connection', () => {
  it('a join waiting on it answers 503, and once MySQL answers again the event’s next joins commit', async () => {
    // The fans and both events are known to the gateway (its existence caches), so what
    // MySQL is asked during the stall is the join's own write.
    for (const fan of ['m-1', 'm-2', 'm-3']) {
      expect((await join(app, fan, otherEventId)).statusCode).toBe(201)
    }
    expect((await join(app, 'm-1', eventId)).statusCode).toBe(201)

    link.stall()
    const stalled = await within(10_000, join(app, 'm-2', eventId))
    expect(stalled.statusCode).toBe(503)
    expect(stalled.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    expect(JSON.stringify(stalled.json())).not.toMatch(/timeout|PROTOCOL|mysql|\.js:\d+/i)
    expect(await written('m-2')).toBe(false)

    link.restore()
    // The silent statement fails after DB_QUERY_TIMEOUT_MS and its connection is dropped,
    // freeing the event's commit lane; a fresh connection carries the next join. Without
    // the timeout each try is answered 503 (the lane waits for TCP) until the deadline.
    const deadline = Date.now() + 10_000
    let next = await within(10_000, join(app, 'm-3', eventId))
    while (next.statusCode === 503 && Date.now() < deadline) {
      await sleep(200)
      next = await within(10_000, join(app, 'm-3', eventId))
    }
    // 201, or 200 when a try before got 503 and Redis kept the ticket it had made.
    expect([200, 201]).toContain(next.statusCode)
    expect(await written('m-3')).toBe(true)
    // The fan refused during the stall joins again and gets its ticket, now in MySQL.
    const again = await within(10_000, join(app, 'm-2', eventId))
    expect(again.statusCode).toBe(200)
    expect(await written('m-2')).toBe(true)
  })
})

describe('when MySQL refuses one ticket state for good', () => {
  it('the mirror writes the others, leaves that one out and counts it in queue_mirror_refused_total', async () => {
    const fans = ['m-4', 'm-5', 'm-6']
    const tokens: string[] = []
    for (const fan of fans) {
      const joined = await join(app, fan, otherEventId)
      expect(joined.statusCode).toBe(201)
      tokens.push((joined.json() as { token: string }).token)
    }
    const k = app.queue.keys(otherEventId)
    // Admitted, and not yet told (a poll would write its state itself): the mirror's to write.
    for (let tick = 0; tick < 100; tick += 1) {
      await app.queue.admit(otherEventId)
      const states = await Promise.all(tokens.map((token) => readTokenState(env.redis, k, token)))
      if (states.every((state) => state?.status === 'READY')) break
      await sleep(20)
    }
    for (const token of tokens) expect((await readTokenState(env.redis, k, token))?.status).toBe('READY')
    await whileTokenRowsRefused(env.db, { accountId: 'm-5', status: 'READY' }, () =>
      app.mirrorWorker.drain(otherEventId),
    )
    expect(await tokenRowStatuses(env.db, tokens)).toEqual(['READY', 'WAITING', 'READY'])
    expect(await env.redis.xlen(k.stream)).toBe(0)
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/^queue_mirror_refused_total\{[^}]*\} 1$/m)
  })
})
