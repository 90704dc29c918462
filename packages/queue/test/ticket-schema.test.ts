import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { Value } from 'typebox/value'
import { describe, expect, it } from 'vitest'
import { TicketSchema } from '../src/index.js'
import { admitUntilReady, makeQueue } from './helpers.js'

const env = useTestEnv()

describe('TicketSchema', () => {
  it('describes every ticket the queue hands out, in each status', async () => {
    const { eventId } = await seedCatalog(env.db)
    const [first, second] = (await insertAccounts(env.db, 2, { prefix: 'ts' })) as [string, string]
    const { queue } = makeQueue(env, { maxActive: 1, admitPerSecond: 1000 })
    const waiting = (await queue.join(eventId, first)).ticket
    const behind = (await queue.join(eventId, second)).ticket
    const ready = await admitUntilReady(queue, eventId, waiting.token, { attempts: 20, pauseMs: 20 })
    await queue.leave(behind.token)
    const left = await queue.get(behind.token)

    const tickets = [waiting, ready, left]
    expect(tickets.map((ticket) => [ticket?.status, ticket?.reason])).toEqual([
      ['WAITING', null],
      ['READY', null],
      ['EXPIRED', 'LEFT'],
    ])
    for (const ticket of tickets) expect(Value.Check(TicketSchema, ticket)).toBe(true)
    // The check has teeth: a status outside the list is refused.
    expect(Value.Check(TicketSchema, { ...waiting, status: 'GONE' })).toBe(false)
  })
})
