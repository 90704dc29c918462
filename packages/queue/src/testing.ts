/**
 * `@concert/queue/testing`: the queue test kit every package and app shares —
 * settings, a queue factory and the admit-and-poll loops that make test tokens
 * READY. No tie to a test runner or to @concert/testing, so it only needs what a
 * test already has (a Redis client, a database, a key prefix).
 */
import type { Database } from '@concert/db'
import type { Kysely } from 'kysely'
import type { EventKeys } from './keys.js'
import { MirrorWorker } from './mirror.js'
import { QueueService, type QueueServiceOptions } from './queue.js'
import type { RedisClient } from './redis-client.js'
import { refreshSaleSettings } from './sale.js'
import type { QueueSettings } from './settings.js'
import type { Ticket } from './ticket-schema.js'
import { F, fromWaitingLine, type TokenState, toTokenState } from './token-state.js'

/** SPEC §4 defaults, with the shortest EXPIRED retention the settings allow. */
export const fastSettings: QueueSettings = {
  maxActive: 200,
  admitPerSecond: 50,
  activeTtlSeconds: 300,
  waitingIdleSeconds: 120,
  expiredRetentionSeconds: 600,
}

/** Admission so wide and fast that every joined token is READY after one tick. */
export const instantAdmission: Partial<QueueSettings> = {
  maxActive: 100_000,
  admitPerSecond: 100_000,
  waitingIdleSeconds: 300,
}

/** What a test gives the kit: its Redis, its database and its key prefix. */
export interface QueueTestEnv {
  redis: RedisClient
  db: Kysely<Database>
  keyPrefix: string
}

/** A queue (fastSettings, with `settings` on top) and a mirror worker on the test's Redis and database. */
export function makeQueue(
  env: QueueTestEnv,
  settings: Partial<QueueSettings> = {},
  options: Pick<QueueServiceOptions, 'tuning' | 'draw'> = {},
) {
  const queue = new QueueService({
    redis: env.redis,
    db: env.db,
    prefix: env.keyPrefix,
    settings: { ...fastSettings, ...settings },
    ...options,
  })
  const mirror = new MirrorWorker({ redis: env.redis, db: env.db, prefix: env.keyPrefix, consumer: 'test' })
  return { queue, mirror }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The event's sale opens at `opensAt` after an hour's pre-queue, as an operator's write sets it. */
export async function openSaleAt(
  env: QueueTestEnv,
  queue: QueueService,
  eventId: number,
  opensAt: Date,
): Promise<void> {
  await env.db
    .updateTable('EVENT')
    .set({ opens_at: opensAt, pre_queue_minutes: 60, updated_at: new Date(Date.now() + 1_000) })
    .where('id', '=', eventId)
    .execute()
  await refreshSaleSettings(env.db, env.redis, queue.keys(eventId))
}

/**
 * Runs admission ticks until every token is READY: their READY tickets, or
 * undefined if they never all got there. `touch` makes each read a heartbeat.
 */
async function admitUntilAllReady(
  queue: QueueService,
  eventId: number,
  tokens: string[],
  { attempts, pauseMs, touch }: { attempts: number; pauseMs: number; touch: boolean },
): Promise<Ticket[] | undefined> {
  for (let i = 0; i < attempts; i += 1) {
    await queue.admit(eventId)
    const tickets = await Promise.all(tokens.map((token) => queue.get(token, { touch })))
    if (tickets.every((ticket) => ticket?.status === 'READY')) return tickets as Ticket[]
    await sleep(pauseMs)
  }
  return undefined
}

/** Runs admission ticks until `token` is READY (each poll a heartbeat); its READY ticket, or undefined. */
export async function admitUntilReady(
  queue: QueueService,
  eventId: number,
  token: string,
  { attempts, pauseMs }: { attempts: number; pauseMs: number },
): Promise<Ticket | undefined> {
  return (await admitUntilAllReady(queue, eventId, [token], { attempts, pauseMs, touch: true }))?.[0]
}

/** Joins every account to the event's queue and admits them; returns accountId → READY token. */
export async function readyTokens(
  queue: QueueService,
  eventId: number,
  accountIds: string[],
): Promise<Map<string, string>> {
  const tokens = new Map<string, string>()
  for (const id of accountIds) tokens.set(id, (await queue.join(eventId, id)).ticket.token)
  const ready = await admitUntilAllReady(queue, eventId, [...tokens.values()], {
    attempts: 100,
    pauseMs: 10,
    touch: false,
  })
  if (!ready) throw new Error('tokens never became READY')
  return tokens
}

/**
 * A token's state read straight from Redis, in either form (token-state.ts): its
 * own hash (READY, EXPIRED) or its line in a bucket with its place in the waiting
 * zset (WAITING). One MULTI, so a token admitted meanwhile is seen in one form.
 * undefined when Redis holds neither.
 */
export async function readTokenState(
  redis: RedisClient,
  keys: EventKeys,
  token: string,
): Promise<TokenState | undefined> {
  const replies = await redis
    .multi()
    .hgetall(keys.token(token))
    .hget(keys.record(token), token)
    .zscore(keys.waiting, token)
    .exec()
  const [hash, line, place] = (replies ?? []).map(([error, value]) => {
    if (error) throw error
    return value
  }) as [Record<string, string>, string | null, string | null]
  if (Object.keys(hash).length > 0) return toTokenState({ ...hash, [F.token]: token })
  return line === null || place === null ? undefined : fromWaitingLine(token, line, Number(place))
}

async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    found.push(...keys)
  } while (cursor !== '0')
  return found
}

/**
 * Every token of the event Redis holds (WAITING, READY and retained EXPIRED ones),
 * read straight from Redis. A token only ever moves from a line to a hash, so
 * listing lines before hashes misses none that changes form meanwhile.
 */
export async function readTokenStates(redis: RedisClient, keys: EventKeys): Promise<TokenState[]> {
  const tokens = new Set<string>()
  for (const bucket of await scanKeys(redis, `${keys.records}*`)) {
    for (const token of await redis.hkeys(bucket)) tokens.add(token)
  }
  for (const key of await scanKeys(redis, `${keys.tokenKeyBase}*`))
    tokens.add(key.slice(keys.tokenKeyBase.length))
  const states: TokenState[] = []
  const all = [...tokens]
  for (let start = 0; start < all.length; start += 200) {
    const read = await Promise.all(
      all.slice(start, start + 200).map((token) => readTokenState(redis, keys, token)),
    )
    // A hash whose retention ended meanwhile reads as nothing.
    for (const state of read) if (state) states.push(state)
  }
  return states
}
/**
 * accountId -> live token, from every account bucket of the event (a WAITING token is found by
 * its place; not while a draw is between slices, when two tokens may hold one place).
 */
export async function readLiveAccounts(redis: RedisClient, keys: EventKeys): Promise<Map<string, string>> {
  const live = new Map<string, string>()
  for (const bucket of await scanKeys(redis, `${keys.accounts}*`)) {
    for (const [accountId, entry] of Object.entries(await redis.hgetall(bucket))) {
      const [token] = entry.includes('.') ? [entry] : await redis.zrangebyscore(keys.waiting, entry, entry)
      live.set(accountId, token ?? entry)
    }
  }
  return live
}
