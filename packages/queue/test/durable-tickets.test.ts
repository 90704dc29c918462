import { AppError } from '@concert/shared'
import {
  createEvent,
  holdEpochRow,
  insertAccounts,
  seedCatalog,
  useTestEnv,
  waitFor,
  whileTokenRowsRefused,
} from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { DurableTickets } from '../src/durable-tickets.js'
import { beginNextEpoch } from '../src/queue-epochs.repository.js'
import { newToken } from '../src/token.js'
import type { TokenState } from '../src/token-state.js'
import { makeQueue, sleep } from './helpers.js'

/*
 * The group commit behind "acknowledged = durable", on its own against MySQL: a
 * join's promise resolves only after its row committed; while MySQL cannot take
 * the write, every join waiting (those of one event-loop turn share a timer) is
 * answered 503 in time, and their rows are still written once MySQL can.
 */

const env = useTestEnv({ poolSize: 6 })
let eventId: number
let otherEventId: number
let epoch: number
let otherEpoch: number
let accounts: string[]

beforeAll(async () => {
  ;({ eventId, otherEventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, 40, { prefix: 'durable' })
  epoch = await beginNextEpoch(env.db, eventId)
  otherEpoch = await beginNextEpoch(env.db, otherEventId)
})

function waiting(accountId: string, place: number, event = eventId): TokenState {
  return {
    token: newToken(event),
    accountId,
    eventId: event,
    place,
    status: 'WAITING',
    reason: null,
    issuedAt: Date.now(),
    readyAt: null,
    expiresAt: null,
    version: 1,
  }
}

async function rowsOf(states: TokenState[]): Promise<number> {
  const rows = await env.db
    .selectFrom('QUEUE_TOKEN')
    .select('token')
    .where(
      'token',
      'in',
      states.map((state) => state.token),
    )
    .execute()
  return rows.length
}

describe('durable tickets (group commit)', () => {
  it('resolves each join only once its row committed, many joins per transaction', async () => {
    const durable = new DurableTickets({ db: env.db, maxInFlight: 2 })
    const states = accounts.slice(0, 10).map((id, i) => waiting(id, i + 1))
    let committedBeforeAnswer = true
    await Promise.all(
      states.map(async (state) => {
        await durable.persist(eventId, epoch, state)
        if ((await rowsOf([state])) !== 1) committedBeforeAnswer = false
      }),
    )
    expect(committedBeforeAnswer).toBe(true)
    expect(await rowsOf(states)).toBe(10)
  })

  it('answers 503 in time while MySQL blocks the write, and still writes the rows afterwards', async () => {
    const durable = new DurableTickets({ db: env.db, timeoutMs: 300 })
    // Recovery's exclusive hold of the epoch row: the durable write waits for it.
    const held = await holdEpochRow(env, eventId)
    const states = accounts.slice(10, 16).map((id, i) => waiting(id, 100 + i))
    // Four in one turn (one shared timer), two in a later turn (their own).
    const first = states.slice(0, 4).map((state) => durable.persist(eventId, epoch, state))
    await sleep(50)
    const later = states.slice(4).map((state) => durable.persist(eventId, epoch, state))
    // The lock is held until every join has its answer: only the timeout can answer them.
    const outcomes = await Promise.allSettled([...first, ...later])
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected')
      const reason = (outcome as PromiseRejectedResult).reason
      expect(reason).toBeInstanceOf(AppError)
      expect(reason).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 2 })
    }
    expect(await rowsOf(states)).toBe(0)
    await held.release()
    const deadline = Date.now() + 10_000
    while ((await rowsOf(states)) < states.length && Date.now() < deadline) await sleep(50)
    expect(await rowsOf(states)).toBe(states.length)
  })

  it('a state asked for again while it waits (repeat joins, retries while MySQL stalls) queues one write for every asker', async () => {
    const durable = new DurableTickets({ db: env.db, timeoutMs: 300 })
    const held = await holdEpochRow(env, eventId)
    const [first, repeated] = accounts.slice(26, 28).map((id, i) => waiting(id, 300 + i)) as [
      TokenState,
      TokenState,
    ]
    // The first write is in its transaction, waiting for the epoch row; the repeats queue behind it.
    const inFlight = durable.persist(eventId, epoch, first)
    await sleep(50)
    expect(durable.queued).toBe(0)
    const asks = Array.from({ length: 50 }, () =>
      durable.persist(eventId, epoch, repeated, { mayBeWritten: true }),
    )
    expect(durable.queued).toBe(1)
    // Every asker is answered 503 in time.
    const outcomes = await Promise.allSettled([inFlight, ...asks])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(outcomes.map(() => 'rejected'))
    // Asked again after they timed out (the next retry): still the one write.
    const retry = durable.persist(eventId, epoch, repeated, { mayBeWritten: true })
    expect(durable.queued).toBe(1)
    await held.release()
    await retry
    expect(durable.queued).toBe(0)
    expect(await rowsOf([first, repeated])).toBe(2)
  })

  it('one transaction per event at a time: its joins share the next one, and an event whose writes wait holds back no other', async () => {
    const durable = new DurableTickets({ db: env.db, timeoutMs: 2_000 })
    // A rebuild of the first event holds its epoch row: that event's writes wait.
    const rebuild = await holdEpochRow(env, eventId)
    const held = accounts.slice(20, 23).map((id, i) => waiting(id, 200 + i))
    const other = accounts.slice(23, 26).map((id, i) => waiting(id, 1 + i, otherEventId))
    // One turn, the held event's joins first: the other event's commit anyway.
    const heldJoins = held.map((state) => durable.persist(eventId, epoch, state))
    await Promise.all(other.map((state) => durable.persist(otherEventId, otherEpoch, state)))
    expect(await rowsOf(other)).toBe(3)
    expect(await rowsOf(held)).toBe(0)
    await rebuild.release()
    await Promise.all(heldJoins)
    expect(await rowsOf(held)).toBe(3)
  })

  it('a join writes its own row, then deletes its stream entry so the mirror does not write it again', async () => {
    const { queue, mirror } = makeQueue(env)
    const k = queue.keys(eventId)
    const before = await env.redis.xlen(k.stream)
    const joined = await Promise.all(
      accounts.slice(17, 20).map((id) => queue.join(eventId, id).then((j) => j.ticket.token)),
    )
    // Committed when answered; the entries go right after the answers.
    expect(
      await env.db.selectFrom('QUEUE_TOKEN').select('token').where('token', 'in', joined).execute(),
    ).toHaveLength(3)
    await waitFor(
      async () => (await env.redis.xlen(k.stream)) === before,
      'the joins deleted their entries',
      5_000,
    )
    expect(await mirror.drain(eventId)).toBe(before)
  })

  it('a row MySQL refuses for good fails its own joins only: the rest of its transaction commits', async () => {
    const durable = new DurableTickets({ db: env.db })
    const event = await createEvent(env.db, 'refused rows')
    const current = await beginNextEpoch(env.db, event)
    const states = accounts.slice(30, 40).map((id, i) => waiting(id, 1 + i, event))
    const refused = states[6] as TokenState
    // An error of the row itself (a trigger's SIGNAL), not of MySQL's state: sent again, refused again.
    await whileTokenRowsRefused(env.db, { token: refused.token }, async () => {
      // One turn: one batch, as a burst of joins (and the refused ticket asked for twice).
      const outcomes = await Promise.allSettled([
        ...states.map((state) => durable.persist(event, current, state)),
        durable.persist(event, current, refused, { mayBeWritten: true }),
      ])
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        ...states.map((state) => (state === refused ? 'rejected' : 'fulfilled')),
        'rejected',
      ])
      for (const outcome of [outcomes[6], outcomes[10]]) {
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ sqlState: '45000' })
      }
      expect(await rowsOf(states)).toBe(9)
      expect(await rowsOf([refused])).toBe(0)
      expect(durable.queued).toBe(0)
    })
    // Asked again once MySQL takes it, the ticket is written.
    await durable.persist(event, current, refused)
    expect(await rowsOf([refused])).toBe(1)
  })

  it('refuses a ticket read in an epoch that has ended (the queue was rebuilt meanwhile)', async () => {
    const durable = new DurableTickets({ db: env.db })
    const stale = waiting(accounts[16] as string, 500)
    await expect(durable.persist(eventId, epoch - 1, stale)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryAfter: 1,
    })
    expect(await rowsOf([stale])).toBe(0)
  })
})
