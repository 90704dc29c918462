import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { F } from '../src/index.js'
import { admitUntilReady, makeQueue } from './helpers.js'

// The compact layout (token-state.ts): the bucket keys keys.ts computes are the
// ones the scripts write (includes/keys.lua computes them again, in Lua).
const env = useTestEnv()
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 30, { prefix: 'layout' })
})

describe('compact token layout', () => {
  it('a WAITING token is a line in its bucket, named by its place in its account bucket; READY gets a hash', async () => {
    const { queue } = makeQueue(env, { maxActive: 1, admitPerSecond: 1000 })
    const eventId = await createEvent(env.db, 'layout')
    const k = queue.keys(eventId)
    const tokens = []
    for (const id of accounts) tokens.push((await queue.join(eventId, id)).ticket.token)

    for (const [i, token] of tokens.entries()) {
      const id = accounts[i] as string
      const place = await env.redis.zscore(k.waiting, token)
      expect(place).toBe(String(i + 1))
      expect((await env.redis.hget(k.record(token), token))?.startsWith(`${id}|`)).toBe(true)
      expect(await env.redis.hget(k.account(id), id)).toBe(place)
      expect(await env.redis.exists(k.token(token))).toBe(0)
    }

    const head = tokens[0] as string
    expect(await admitUntilReady(queue, eventId, head, { attempts: 20, pauseMs: 20 })).toBeDefined()
    expect(await env.redis.hget(k.record(head), head)).toBeNull()
    expect(await env.redis.hmget(k.token(head), F.status, F.accountId, F.place)).toEqual([
      'READY',
      accounts[0],
      '1',
    ])
    expect(await env.redis.hget(k.account(accounts[0] as string), accounts[0] as string)).toBe(head)
    // Joining again finds the live token through either kind of entry.
    expect((await queue.join(eventId, accounts[0] as string)).ticket.token).toBe(head)
    expect((await queue.join(eventId, accounts[1] as string)).ticket.token).toBe(tokens[1])
  })
})
