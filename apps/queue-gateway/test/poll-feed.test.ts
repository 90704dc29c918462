import type { App } from '@concert/http'
import { type Ticket, WAITING_FIELDS } from '@concert/queue'
import { createEvent, insertAccounts, scriptCalls, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildGateway, join } from './helpers.js'

// A private redis-server: one test counts every script the server runs, another FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
let accounts: string[]
const apps: App[] = []

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 400, { prefix: 'poller' })
})
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
})

/** A gateway without background loops (no admission, no mirror): every step is the test's. */
async function gateway(overrides: Record<string, string> = {}): Promise<App> {
  const app = await buildGateway(env, overrides)
  apps.push(app)
  return app
}

async function poll(app: App, token: string): Promise<Ticket> {
  const response = await app.inject({ method: 'GET', url: `/v1/queue/tokens/${token}` })
  expect(response.statusCode).toBe(200)
  return response.json() as Ticket
}

/** What the poll script itself answers now (no heartbeat): the reference every feed answer must equal. */
async function scripted(app: App, token: string): Promise<Ticket | undefined> {
  return app.queue.get(token, { touch: false })
}

/** When the fan was last seen, from the WAITING token's line (ms since the epoch). */
async function seenAt(app: App, token: string): Promise<number> {
  const eventId = Number(token.split('.')[0])
  const line = await env.redis.hget(app.queue.keys(eventId).record(token), token)
  if (!line) throw new Error('not waiting')
  const values = line.split('|')
  const at = (field: (typeof WAITING_FIELDS)[number]) => Number(values[WAITING_FIELDS.indexOf(field)])
  return at('issuedAt') + at('seen')
}

async function joinAll(app: App, eventId: number, ids: readonly string[]): Promise<string[]> {
  const tokens: string[] = []
  for (const id of ids) tokens.push((await join(app, id, eventId)).json().token)
  return tokens
}

describe('polls answered from the event feed', () => {
  it('200 parallel polls of 50 fans share a few reads, and each answer is the poll script’s, field for field', async () => {
    const app = await gateway()
    const eventId = await createEvent(env.db, 'poll feed batch')
    const tokens = await joinAll(app, eventId, accounts.slice(0, 60))
    // Gaps in the queue: every sixth fan leaves.
    for (const token of tokens.filter((_, i) => i % 6 === 2)) {
      expect((await app.inject({ method: 'DELETE', url: `/v1/queue/tokens/${token}` })).statusCode).toBe(204)
    }
    const waiting = tokens.filter((_, i) => i % 6 !== 2)
    expect(waiting).toHaveLength(50)
    // First polls: the poll script, once per fan; from then on the copy follows them.
    for (const token of waiting) await poll(app, token)
    expect(app.sseHub.polledFollowed).toBe(50)
    // The next read confirms their places and walks the queue for its gaps (answers from a
    // walk that ran after the read would mix two moments: those polls go to the script once).
    await Promise.all(waiting.map((token) => poll(app, token)))

    const follow = vi.spyOn(app.queue, 'follow')
    const before = await scriptCalls(env.redis)
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => poll(app, waiting[i % 50] as string)),
    )
    const calls = (await scriptCalls(env.redis)) - before
    // Polls that come in one turn of the event loop share one read (it also confirms the
    // followed places); never one script per poll.
    expect(follow).not.toHaveBeenCalled()
    expect(calls).toBeGreaterThanOrEqual(1)
    expect(calls).toBeLessThanOrEqual(3)
    follow.mockRestore()

    expect(answers.map((ticket) => ticket.position)).toEqual(
      Array.from({ length: 200 }, (_, i) => (i % 50) + 1),
    )
    const reference = await Promise.all(waiting.map((token) => scripted(app, token)))
    // Same facts (sale state, rate, …) and fields; only the server time moved on.
    const withoutTime = (ticket: Ticket | undefined) => ({ ...ticket, estimatedWaitSeconds: undefined })
    expect(answers.slice(0, 50).map(withoutTime)).toEqual(reference.map(withoutTime))
  }, 30_000)

  it('a poll answered from the feed is a heartbeat: it records the fan as seen, as the poll script does', async () => {
    const app = await gateway()
    const eventId = await createEvent(env.db, 'poll feed heartbeat')
    const [token] = await joinAll(app, eventId, accounts.slice(60, 61))
    await poll(app, token as string)
    await poll(app, token as string) // confirms the followed place
    const follow = vi.spyOn(app.queue, 'follow')
    const get = vi.spyOn(app.queue, 'get')
    const readFeed = vi.spyOn(app.queue, 'readFeed')
    const seenBefore = await seenAt(app, token as string)
    await new Promise((resolve) => setTimeout(resolve, 30))
    const ticket = await poll(app, token as string)
    // Neither poll script ran: the feed's read recorded the heartbeat, with this token in it.
    expect(follow).not.toHaveBeenCalled()
    expect(get).not.toHaveBeenCalled()
    expect(readFeed).toHaveBeenCalledTimes(1)
    expect(readFeed.mock.calls[0]?.[4]).toEqual([token])
    vi.restoreAllMocks()
    expect(ticket.status).toBe('WAITING')
    expect(await seenAt(app, token as string)).toBeGreaterThanOrEqual(seenBefore + 30)
  })

  it('a poll waits for a read begun after it came in: a leave while a read runs is not missed', async () => {
    const a = await gateway()
    const b = await gateway()
    const eventId = await createEvent(env.db, 'poll feed in flight')
    const tokens = await joinAll(a, eventId, accounts.slice(90, 95))
    for (const token of tokens) await poll(a, token)
    for (const token of tokens) await poll(a, token)

    // The next read of copy A runs in Redis, then its answer is held here until released.
    const readFeed = a.queue.readFeed.bind(a.queue)
    let held: (() => void) | undefined
    let reached = false
    const release = new Promise<void>((resolve) => {
      held = resolve
    })
    vi.spyOn(a.queue, 'readFeed').mockImplementation(async (...args) => {
      const read = await readFeed(...args)
      if (!reached) {
        reached = true
        await release
      }
      return read
    })
    const first = poll(a, tokens[0] as string)
    await vi.waitFor(() => expect(reached).toBe(true))
    // That read has run; the leave comes after it, then the poll of the fan who left.
    expect((await b.inject({ method: 'DELETE', url: `/v1/queue/tokens/${tokens[3]}` })).statusCode).toBe(204)
    const second = poll(a, tokens[3] as string)
    const third = poll(a, tokens[4] as string)
    held?.()
    expect((await first).position).toBe(1)
    expect(await second).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
    expect((await third).position).toBe(4)
    vi.restoreAllMocks()
  })

  it('the next poll tells at once what happened elsewhere: a leave on another copy, an admission, a rebuild after FLUSHALL', async () => {
    // Two READY at most: the admission below admits exactly the first two waiting fans.
    const a = await gateway({ QUEUE_MAX_ACTIVE: '2' })
    const b = await gateway({ QUEUE_MAX_ACTIVE: '2' })
    const eventId = await createEvent(env.db, 'poll feed changes')
    const tokens = await joinAll(a, eventId, accounts.slice(70, 80))
    for (const token of tokens) await poll(a, token)
    for (const token of tokens) await poll(a, token)
    expect((await poll(a, tokens[9] as string)).position).toBe(10)
    const follow = vi.spyOn(a.queue, 'follow')

    // A leave through copy B: copy A's very next poll of that fan says EXPIRED, and of the one behind, one place up.
    expect((await b.inject({ method: 'DELETE', url: `/v1/queue/tokens/${tokens[4]}` })).statusCode).toBe(204)
    expect(await poll(a, tokens[4] as string)).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
    expect((await poll(a, tokens[9] as string)).position).toBe(9)
    // The leave came from the feed, the position too: only the expired fan was read by the poll script.
    expect(follow.mock.calls.map(([token]) => token)).toEqual([tokens[4]])

    // Copy B admits (its admission loop's tick): the two at the head are READY at their next poll on A.
    // The admission bucket fills with time: tick until both slots are taken (the cap holds it at 2).
    let admitted = 0
    for (let i = 0; i < 100 && admitted < 2; i += 1) {
      admitted += (await b.queue.admit(eventId)).admitted
      if (admitted < 2) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(admitted).toBe(2)
    const order = [0, 1, 2, 3, 5, 6, 7, 8, 9]
    for (const [j, i] of order.entries()) {
      const ticket = await poll(a, tokens[i] as string)
      expect(ticket).toEqual(await scripted(a, tokens[i] as string))
      expect(ticket).toMatchObject(
        j < 2 ? { status: 'READY', position: 0 } : { status: 'WAITING', position: j - 1 },
      )
    }
    follow.mockRestore()

    // Redis loses everything: the next poll rebuilds the queue from MySQL and answers exactly.
    await a.mirrorWorker.drain(eventId)
    await env.redis.flushall()
    const after = await poll(a, tokens[9] as string)
    expect(after).toEqual(await scripted(a, tokens[9] as string))
    expect(after).toMatchObject({ status: 'WAITING', position: 7 })
  }, 30_000)
})
