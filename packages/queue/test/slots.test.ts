import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import calculateSlot from 'cluster-key-slot'
import { beforeAll, describe, expect, it } from 'vitest'
import { eventKeys, hashTag, saleChangesKey } from '../src/index.js'
import { makeQueue, sleep } from './helpers.js'

// MONITOR sees every command of the server; a private redis-server lets this
// file attribute each command to itself without guessing.
const env = useTestEnv({ privateRedis: true })
let eventId: number
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  eventId = await createEvent(env.db, 'slots')
  accounts = await insertAccounts(env.db, 20, { prefix: 'slot' })
})

interface Seen {
  args: string[]
  fromLua: boolean
}

describe('Redis Cluster readiness', () => {
  it('every key every script touches hashes to the event slot', async () => {
    const monitor = await env.redis.monitor()
    const seen: Seen[] = []
    monitor.on('monitor', (_time: string, args: string[], source: string, database: string) => {
      if (database === '0') seen.push({ args, fromLua: source === 'lua' })
    })
    try {
      const { queue, mirror } = makeQueue(env, { maxActive: 3, admitPerSecond: 1000, waitingIdleSeconds: 1 })
      const tokens: string[] = []
      for (const id of accounts) tokens.push((await queue.join(eventId, id)).ticket.token)
      await queue.join(eventId, accounts[0] as string)
      for (let i = 0; i < 5; i += 1) {
        await queue.admit(eventId)
        await sleep(10)
      }
      const ready = (await Promise.all(tokens.map((t) => queue.get(t)))).filter((t) => t?.status === 'READY')
      const readyToken = ready[0]?.token as string
      await queue.claim(readyToken, 'o1', 1000)
      await queue.releaseClaim(readyToken, 'o1')
      // A purchase with seats: the seat keys share the event's slot with the token.
      const seats = { scheduleId: 7, seatIds: [3, 5], lockTtlMs: 1000 }
      expect((await queue.beginPurchase(readyToken, 'o2', 1000, seats)).ok).toBe(true)
      expect(await queue.extendPurchase(readyToken, 'o2', 1000, seats)).toBe(true)
      expect(await queue.abortPurchase(readyToken, 'o2', seats)).toBe(true)
      expect((await queue.beginPurchase(readyToken, 'o3', 1000, seats)).ok).toBe(true)
      expect(await queue.finishPurchase(readyToken, 'o3', new Date(), seats)).toBe(true)
      expect(await queue.releaseSeats(eventId, 7, [3])).toBe(1)
      await queue.verify(tokens[5] as string)
      await queue.leave(tokens[6] as string)
      await sleep(1100) // idle waiters get swept as ABANDONED by the next tick
      await queue.admit(eventId)
      await mirror.drain(eventId)
      await env.redis.flushdb()
      await queue.get(tokens[7] as string) // triggers the rebuild (restore script)
      await queue.admit(eventId)
    } finally {
      await sleep(100)
      monitor.disconnect()
    }

    const expected = calculateSlot(hashTag(eventId))
    const lua = seen.filter((s) => s.fromLua)
    // Each script and each command inside it: the keys Redis itself says the command touches.
    const scriptNames = new Set<string>()
    let checked = 0
    for (const command of seen) {
      const name = command.args[0]?.toLowerCase() ?? ''
      if (
        [
          'monitor',
          'flushdb',
          'select',
          'info',
          'client',
          'ping',
          'multi',
          'exec',
          'time',
          'script',
        ].includes(name)
      )
        continue
      let keys: string[]
      try {
        keys = (await env.redis.call('COMMAND', 'GETKEYS', ...command.args)) as string[]
      } catch {
        continue // a command without keys
      }
      if (name === 'evalsha' || name === 'eval') scriptNames.add(command.args[1] ?? '')
      for (const key of keys) {
        if (key === saleChangesKey(env.keyPrefix)) {
          // The one key outside the event's tag (keys.ts says why): only ever a command of
          // its own, never inside a script or beside the event's keys.
          expect(command.fromLua, key).toBe(false)
          expect(keys, key).toEqual([key])
          continue
        }
        checked += 1
        expect(calculateSlot(key), key).toBe(expected)
      }
    }
    expect(lua.length).toBeGreaterThan(100)
    expect(checked).toBeGreaterThan(200)
    expect(scriptNames.size).toBeGreaterThanOrEqual(8)
    expect(eventKeys(env.keyPrefix, eventId).marker).toContain(hashTag(eventId))
  })
})
