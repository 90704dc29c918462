import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { F, newestPerToken } from '../src/index.js'
import { readTokenState } from '../src/testing.js'
import { makeQueue, sleep } from './helpers.js'

const env = useTestEnv({ poolSize: 3 })
let eventId: number
let accounts: string[]

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, 300, { prefix: 'mirror' })
})

describe('QUEUE_TOKEN mirror', () => {
  it('after a burst of joins, admissions and expiries every row equals its Redis state', async () => {
    const { queue, mirror } = makeQueue(env, {
      admitPerSecond: 400,
      maxActive: 60,
      activeTtlSeconds: 1,
      waitingIdleSeconds: 2,
    })
    const joined = await Promise.all(accounts.map((id) => queue.join(eventId, id)))
    const tokens = joined.map((j) => j.ticket.token)
    // Mirror concurrently with the changes, as the gateway does.
    let mirroring = true
    const mirrorLoop = (async () => {
      while (mirroring) {
        await mirror.pump(eventId)
        await sleep(5)
      }
    })()
    const deadline = Date.now() + 2_500
    let i = 0
    while (Date.now() < deadline) {
      await queue.admit(eventId)
      // Some leave, the first hundred keep polling, the rest go silent (abandoned after 2 s).
      const leaver = tokens[200 + i]
      if (leaver && i < 20) await queue.leave(leaver)
      await Promise.all(tokens.slice(0, 100).map((t) => queue.get(t)))
      i += 1
      await sleep(50)
    }
    mirroring = false
    await mirrorLoop
    await mirror.drain(eventId)
    expect((await mirror.lag(eventId)).entries).toBe(0)

    const rows = await env.db.selectFrom('QUEUE_TOKEN').selectAll().where('event_id', '=', eventId).execute()
    expect(rows).toHaveLength(tokens.length)
    const statuses = new Set<string>()
    const reasons = new Set<string>()
    for (const row of rows) {
      const state = await readTokenState(env.redis, queue.keys(eventId), row.token)
      if (!state) throw new Error(`${row.token} is not in Redis`)
      // Mirrored, so no longer marked as held by Redis alone.
      expect(await env.redis.hexists(queue.keys(eventId).token(row.token), F.unmirrored)).toBe(0)
      statuses.add(state.status)
      if (state.reason) reasons.add(state.reason)
      expect({
        status: row.status,
        position: row.position,
        reason: row.reason,
        issued_at: row.issued_at.getTime(),
        ready_at: row.ready_at?.getTime() ?? null,
        expires_at: row.expires_at?.getTime() ?? null,
        version: row.version,
      }).toEqual({
        status: state.status,
        position: state.place,
        reason: state.reason,
        issued_at: state.issuedAt,
        ready_at: state.readyAt,
        expires_at: state.expiresAt,
        version: state.version,
      })
    }
    // The burst really exercised every kind of change.
    expect([...statuses].sort()).toEqual(
      ['EXPIRED', 'READY', 'WAITING'].filter((s) => statuses.has(s)).sort(),
    )
    expect(statuses.has('EXPIRED')).toBe(true)
    expect(reasons).toEqual(new Set(['TIMEOUT', 'LEFT', 'ABANDONED']))
  })

  it('an older state never overwrites a newer one, whatever order batches commit in', () => {
    const base = { accountId: 'a', eventId: 1, place: 1, issuedAt: 0, readyAt: null }
    const rows = newestPerToken([
      { ...base, token: 'b', status: 'WAITING', reason: null, expiresAt: null, version: 1 },
      { ...base, token: 'a', status: 'READY', reason: null, expiresAt: null, version: 2 },
      { ...base, token: 'a', status: 'WAITING', reason: null, expiresAt: null, version: 1 },
    ])
    expect(rows.map((r) => [r.token, r.version])).toEqual([
      ['a', 2],
      ['b', 1],
    ])
  })
})
