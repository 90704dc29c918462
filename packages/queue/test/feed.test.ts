import {
  createEvent,
  holdRow,
  insertAccounts,
  lockWaiters,
  seedCatalog,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import {
  EventFeed,
  type FeedFollower,
  type QueueService,
  type Ticket,
  type TokenState,
} from '../src/index.js'
import { makeQueue, openSaleAt, readyTokens, sleep } from './helpers.js'

const env = useTestEnv()
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 270, { prefix: 'feed' })
})

class Follower implements FeedFollower {
  last: Ticket | undefined
  constructor(readonly token: string) {}
  deliver(ticket: Ticket): void {
    this.last = ticket
  }
  gone(): void {}
}

async function follow(queue: QueueService, feed: EventFeed, token: string): Promise<Follower> {
  const follower = new Follower(token)
  const first = await queue.follow(token)
  if (!first) throw new Error('no ticket')
  follower.last = first.ticket
  feed.add(follower, first.state)
  return follower
}

/** After a tick (and the status reads it started), every follower holds the ticket a poll answers now. */
async function expectExact(queue: QueueService, feed: EventFeed, followers: Follower[]) {
  await vi.waitFor(
    async () => {
      await feed.tick()
      const polled = await Promise.all(followers.map((f) => queue.get(f.token, { touch: false })))
      expect(followers.map((f) => f.last)).toEqual(polled)
    },
    { timeout: 10_000, interval: 50 },
  )
}

describe('EventFeed: positions from one read per tick', () => {
  it('stay exact through random leaves, admissions, and a feed trimmed before it was read', async () => {
    const { queue } = makeQueue(env, { maxActive: 8, admitPerSecond: 20 })
    const eventId = await createEvent(env.db, 'feed random')
    const tokens: string[] = []
    for (const id of accounts.slice(0, 80)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    const followers = await Promise.all(
      tokens.filter((_, i) => i % 2 === 1).map((t) => follow(queue, feed, t)),
    )
    await expectExact(queue, feed, followers)

    // A fixed pseudo-random order, so a failure replays.
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    for (let round = 0; round < 6; round += 1) {
      for (let i = 0; i < 4; i += 1) await queue.leave(tokens[(next() >> 8) % tokens.length] as string)
      // And one of the followed, wherever it stands.
      await queue.leave(followers[(round * 7) % followers.length]?.token as string)
      await queue.admit(eventId)
      if (round === 3) {
        // Entries gone before this copy read them: it must notice and walk the queue again.
        await queue.leave(tokens[(next() >> 8) % tokens.length] as string)
        await env.redis.xtrim(queue.keys(eventId).feed, 'MAXLEN', 0)
      }
      await expectExact(queue, feed, followers)
      await sleep(60)
    }
    const statuses = new Set(followers.map((f) => f.last?.status))
    expect(statuses).toEqual(new Set(['WAITING', 'READY', 'EXPIRED']))
    // Still-waiting followers have distinct positions counted past real gaps.
    const waiting = followers.filter((f) => f.last?.status === 'WAITING').map((f) => f.last?.position)
    expect(new Set(waiting).size).toBe(waiting.length)
  }, 60_000)

  it('a READY stream whose leave was trimmed from the feed before this copy read it is told it left', async () => {
    const { queue } = makeQueue(env, { maxActive: 8, admitPerSecond: 1_000 })
    const eventId = await createEvent(env.db, 'feed ready trimmed')
    const tokens = [...(await readyTokens(queue, eventId, accounts.slice(0, 3))).values()]
    const feed = new EventFeed(queue, eventId)
    const followers = await Promise.all(tokens.map((t) => follow(queue, feed, t)))
    await expectExact(queue, feed, followers)
    expect(followers.map((f) => f.last?.status)).toEqual(['READY', 'READY', 'READY'])
    // The leave's entry is gone before the feed reads it: the feed walks the queue again,
    // where a READY token is not to be found either way.
    expect(await queue.leave(tokens[1] as string)).toBe('LEFT')
    await env.redis.xtrim(queue.keys(eventId).feed, 'MAXLEN', 0)
    await expectExact(queue, feed, followers)
    expect(followers.map((f) => f.last?.status)).toEqual(['READY', 'EXPIRED', 'READY'])
  })

  it('a stream whose token changes while its status is being read is read again after (the older read does not win)', async () => {
    const { queue } = makeQueue(env, { maxActive: 8, admitPerSecond: 1_000 })
    const eventId = await createEvent(env.db, 'feed read again')
    const tokens: string[] = []
    for (const id of accounts.slice(3, 5)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    const followers = await Promise.all(tokens.map((t) => follow(queue, feed, t)))
    await expectExact(queue, feed, followers)
    // The first fan's row is held: reading its admission (READY, which no mirror has written
    // here) waits to write it first.
    const held = await holdRow(env, (trx) =>
      sql`SELECT token FROM QUEUE_TOKEN WHERE token = ${tokens[0]} FOR UPDATE`.execute(trx),
    )
    let admitted = 0
    await vi.waitFor(
      async () => {
        admitted += (await queue.admit(eventId)).admitted
        expect(admitted).toBe(2)
      },
      { timeout: 5_000, interval: 50 },
    )
    await feed.tick()
    await waitFor(async () => (await lockWaiters(env)) === 1, 'the read of the admission waits for the row')
    // The fan leaves meanwhile (at once in Redis; its row write waits too), and the feed
    // sees the leave while the READY read still runs.
    const leaving = queue.leave(tokens[0] as string)
    await feed.tick()
    await held.release()
    expect(await leaving).toBe('LEFT')
    await expectExact(queue, feed, followers)
    expect(followers.map((f) => [f.last?.status, f.last?.reason])).toEqual([
      ['EXPIRED', 'LEFT'],
      ['READY', null],
    ])
  })

  it('a stream whose status read failed (MySQL could not take the write) reads it again at the next tick', async () => {
    const { queue } = makeQueue(env, { maxActive: 8, admitPerSecond: 1_000 })
    const eventId = await createEvent(env.db, 'feed read failed')
    const account = accounts[5] as string
    const token = (await readyTokens(queue, eventId, [account])).get(account) as string
    const errors: unknown[] = []
    const feed = new EventFeed(queue, eventId, { onError: (error) => errors.push(error) })
    const followers = [await follow(queue, feed, token)]
    await expectExact(queue, feed, followers)
    expect(followers[0]?.last?.status).toBe('READY')
    // The row is held past the 3 s a state waits to be written: the leave, and the
    // stream's read of it, answer 503.
    const held = await holdRow(env, (trx) =>
      sql`SELECT token FROM QUEUE_TOKEN WHERE token = ${token} FOR UPDATE`.execute(trx),
    )
    const leaving = queue.leave(token)
    await feed.tick()
    await expect(leaving).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    await waitFor(async () => errors.length === 1, 'the stream’s read failed')
    expect(followers[0]?.last?.status).toBe('READY')
    await held.release()
    await expectExact(queue, feed, followers)
    expect(followers[0]?.last).toMatchObject({ status: 'EXPIRED', reason: 'LEFT' })
  })

  it('stay exact after the pre-queue draw reorders the places', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'feed draw')
    const publish = (opensAt: Date) => openSaleAt(env, queue, eventId, opensAt)
    await publish(new Date(Date.now() + 600_000))
    const tokens: string[] = []
    for (const id of accounts.slice(80, 120)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    const followers = await Promise.all(
      tokens.filter((_, i) => i % 3 === 0).map((t) => follow(queue, feed, t)),
    )
    await expectExact(queue, feed, followers)
    expect(followers.every((f) => f.last?.position === null)).toBe(true)
    await queue.leave(tokens[4] as string)

    await publish(new Date(Date.now() - 1_000))
    expect((await queue.admit(eventId)).drawn).toBe(39)
    // Late joiners behind the drawn pre-queue.
    for (const id of accounts.slice(120, 125)) {
      followers.push(await follow(queue, feed, (await queue.join(eventId, id)).ticket.token))
    }
    await expectExact(queue, feed, followers)
    const positions = followers.map((f) => f.last?.position)
    expect(positions.every((p) => typeof p === 'number' && p > 0)).toBe(true)
    expect(positions.slice(-5)).toEqual([40, 41, 42, 43, 44])
  }, 30_000)

  it('stay exact after a draw the feed read between its slices, where the head had risen for a moment', async () => {
    // Between two slices the head can be above 1 (the first slice moved place 1's fan away,
    // and whoever drew place 1 has not moved there yet); the draw's end lowers it again. A
    // draw is random (one moving place 1's new holder first keeps the head at 1), so a draw
    // without such a read is made again on a new event.
    for (let attempt = 1; ; attempt += 1) {
      let feed: EventFeed | undefined
      let waiting = ''
      let readAboveOne = false
      const { queue } = makeQueue(
        env,
        {},
        {
          draw: {
            slice: 2,
            afterSlice: async () => {
              if (readAboveOne || !feed) return
              const [, head] = await env.redis.zrange(waiting, 0, 0, 'WITHSCORES')
              if (Number(head) <= 1) return
              readAboveOne = true
              await feed.tick()
            },
          },
        },
      )
      const eventId = await createEvent(env.db, `feed draw in slices ${attempt}`)
      waiting = queue.keys(eventId).waiting
      await openSaleAt(env, queue, eventId, new Date(Date.now() + 600_000))
      const tokens: string[] = []
      for (const id of accounts.slice(0, 20)) tokens.push((await queue.join(eventId, id)).ticket.token)
      feed = new EventFeed(queue, eventId)
      const followers = await Promise.all(tokens.map((t) => follow(queue, feed as EventFeed, t)))
      await expectExact(queue, feed, followers)

      await openSaleAt(env, queue, eventId, new Date(Date.now() - 1_000))
      expect((await queue.admit(eventId)).drawn).toBe(20)
      if (!readAboveOne) {
        expect(attempt).toBeLessThan(10)
        continue
      }
      await expectExact(queue, feed, followers)
      expect(new Set(followers.map((f) => f.last?.position))).toEqual(
        new Set(Array.from({ length: 20 }, (_, i) => i + 1)),
      )
      break
    }
  }, 60_000)

  it('marks thousands of streaming fans seen in one read, and forgets marks no copy renewed for a minute', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'feed touch')
    const token = (await queue.join(eventId, accounts[125] as string)).ticket.token
    const { streaming } = queue.keys(eventId)
    await env.redis.zadd(streaming, Date.now() - 61_000, `${eventId}.a-stream-that-ended`)
    const others = Array.from({ length: 9_999 }, (_, i) => `${eventId}.streamed-${i}`)
    const read = await queue.readFeed(eventId, '', 10, [...others, token])
    expect(read?.head).toBe(1)
    expect(Number(await env.redis.zscore(streaming, token))).toBeGreaterThan(Date.now() - 60_000)
    expect(await env.redis.zscore(streaming, `${eventId}.a-stream-that-ended`)).toBeNull()
    expect(await env.redis.zcard(streaming)).toBe(10_000)
  })
})

describe('EventFeed: polls answered from reads begun after them', () => {
  /** Follows each token as the gateway does after its first poll. */
  async function followPolls(queue: QueueService, feed: EventFeed, tokens: readonly string[]) {
    for (const token of tokens) {
      const read = await queue.follow(token)
      if (!read) throw new Error('no ticket')
      feed.followPoll(read)
    }
  }

  /** The feed's answer for each token, or the poll script's where the feed sends the poll back to it. */
  async function pollAll(queue: QueueService, feed: EventFeed, tokens: readonly string[]) {
    const fromFeed = await Promise.all(tokens.map((token) => feed.poll(token)))
    const scripted = await Promise.all(tokens.map((token) => queue.get(token, { touch: false })))
    return { fromFeed, scripted }
  }

  it('overlapping reads are applied in the order sent, entries brought twice counted once', async () => {
    const { queue } = makeQueue(env, { maxActive: 5, admitPerSecond: 50 })
    const eventId = await createEvent(env.db, 'feed polls overlap')
    const tokens: string[] = []
    for (const id of accounts.slice(200, 260)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    const followedTokens = tokens.filter((_, i) => i % 3 === 2)
    await followPolls(queue, feed, followedTokens)
    await feed.refresh()
    const readFeed = vi.spyOn(queue, 'readFeed')
    for (let round = 0; round < 6; round += 1) {
      // Changes first, then three waves of polls, a turn of the event loop apart: three reads
      // in flight at once, each bringing the same new entries.
      for (const token of tokens.filter((_, i) => i % 3 !== 2 && i % 6 === round)) await queue.leave(token)
      await queue.admit(eventId)
      const waves: Array<Promise<Array<Ticket | undefined>>> = []
      for (let wave = 0; wave < 3; wave += 1) {
        waves.push(Promise.all(followedTokens.map((token) => feed.poll(token))))
        await new Promise((resolve) => setImmediate(resolve))
      }
      const answered = await Promise.all(waves)
      const scripted = await Promise.all(followedTokens.map((token) => queue.get(token, { touch: false })))
      for (const answers of answered) {
        answers.forEach((ticket, i) => {
          // The feed answers a waiting fan exactly; an admitted or gone one goes to the script.
          if (ticket) expect(ticket).toEqual(scripted[i])
          else expect(scripted[i]?.status).not.toBe('WAITING')
        })
      }
      // Whoever the feed sent to the script is followed again, as the gateway does.
      await followPolls(
        queue,
        feed,
        followedTokens.filter((_, i) => scripted[i]?.status === 'WAITING'),
      )
      await feed.refresh()
    }
    expect(readFeed.mock.calls.filter(([, cursor]) => cursor === '')).toHaveLength(0)
    vi.restoreAllMocks()
  }, 30_000)

  it('a poll is not answered with gaps a walk found after its read: a leave in between is not counted early', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'feed polls walk after')
    const tokens: string[] = []
    for (const id of accounts.slice(260, 270)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    const last = tokens[9] as string
    await followPolls(queue, feed, [last])
    // The first read walks the queue for its gaps; a fan ahead leaves after that read ran
    // and before the walk: the walk sees the gap, the read does not.
    const holes = queue.holes.bind(queue)
    vi.spyOn(queue, 'holes').mockImplementationOnce(async (...args) => {
      await queue.leave(tokens[3] as string)
      return holes(...args)
    })
    expect(await feed.poll(last)).toBeUndefined()
    vi.restoreAllMocks()
    // The next read has the leave in its entries: answered, exactly.
    const ticket = await feed.poll(last)
    expect(ticket).toEqual(await queue.get(last, { touch: false }))
    expect(ticket?.position).toBe(9)
  })

  it('read on until the feed is caught up, and answer nothing from a feed left behind', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'feed polls behind')
    const tokens: string[] = []
    for (const id of accounts.slice(140, 180)) tokens.push((await queue.join(eventId, id)).ticket.token)
    // Two entries per read: five leaves take three reads, twenty-five more than the ten a refresh makes.
    const feed = new EventFeed(queue, eventId, { maxEntries: 2 })
    const kept = tokens.filter((_, i) => i % 4 === 3)
    await followPolls(queue, feed, kept)
    await feed.refresh() // confirms the places

    for (const token of tokens.filter((_, i) => i % 4 === 0).slice(0, 5)) await queue.leave(token)
    let answers = await pollAll(queue, feed, kept)
    expect(answers.fromFeed).toEqual(answers.scripted)

    // Everyone else leaves (25 more entries): the followed fans are the whole queue then.
    for (const token of tokens.filter((_, i) => i % 4 !== 3 && !(i % 4 === 0 && i < 20)))
      await queue.leave(token)
    // One refresh reads twenty entries, five stay unread: the positions would miss gaps, so no answer.
    expect(await feed.poll(kept[0] as string)).toBeUndefined()
    // The next refresh reads the rest.
    answers = await pollAll(queue, feed, kept)
    expect(answers.fromFeed).toEqual(answers.scripted)
    expect(answers.scripted.map((ticket) => ticket?.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  }, 30_000)

  it('after the pre-queue draw every answer is the poll script’s, and a rebuild with 130,000 followed polls still reads', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'feed polls draw')
    const keys = queue.keys(eventId)
    const publish = (opensAt: Date) => openSaleAt(env, queue, eventId, opensAt)
    await publish(new Date(Date.now() + 600_000))
    const tokens: string[] = []
    for (const id of accounts.slice(180, 200)) tokens.push((await queue.join(eventId, id)).ticket.token)
    const feed = new EventFeed(queue, eventId)
    await followPolls(queue, feed, tokens)
    let answers = await pollAll(queue, feed, tokens)
    answers = await pollAll(queue, feed, tokens)
    expect(answers.fromFeed).toEqual(answers.scripted)
    expect(answers.fromFeed.every((ticket) => ticket?.position === null)).toBe(true)

    await publish(new Date(Date.now() - 1_000))
    expect((await queue.admit(eventId)).drawn).toBe(20)
    // Moved places are sent back to the poll script; a place the draw left alone may be answered.
    answers = await pollAll(queue, feed, tokens)
    answers.fromFeed.forEach((ticket, i) => {
      if (ticket) expect(ticket).toEqual(answers.scripted[i])
    })
    await followPolls(queue, feed, tokens)
    answers = await pollAll(queue, feed, tokens)
    expect(answers.fromFeed).toEqual(answers.scripted)
    expect(new Set(answers.fromFeed.map((ticket) => ticket?.position))).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => i + 1)),
    )

    // 130,000 more followed tokens (made up: none waits) and a rebuild (the feed trimmed
    // before this copy read it): their places are confirmed in slices, and all let go.
    const epoch = (await queue.follow(tokens[0] as string))?.epoch as string
    const state = (await queue.follow(tokens[0] as string))?.state
    for (let i = 0; i < 130_000; i += 1) {
      const token = `${eventId}.madeup${i}`
      feed.followPoll({
        ticket: answers.scripted[0] as Ticket,
        state: { ...(state as TokenState), token, place: 1_000 + i },
        epoch,
      })
    }
    await queue.leave(tokens[19] as string)
    await env.redis.xtrim(keys.feed, 'MAXLEN', 0)
    await queue.leave(tokens[18] as string)
    answers = await pollAll(queue, feed, tokens.slice(0, 18))
    expect(feed.polledSize).toBeLessThanOrEqual(18)
    answers = await pollAll(queue, feed, tokens.slice(0, 18))
    answers.fromFeed.forEach((ticket, i) => {
      if (ticket) expect(ticket).toEqual(answers.scripted[i])
    })
  }, 60_000)
})
