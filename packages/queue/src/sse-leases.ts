import { randomUUID } from 'node:crypto'
import { AppError } from '@concert/shared'
import { clientSseStreamsKey, eventKeys, sseCopiesKey } from './keys.js'
import type { RedisClient } from './redis-client.js'
import { Reply, replyCode } from './replies.js'
import { defineQueueCommands } from './scripts.js'
import { eventOfToken } from './token.js'

/**
 * Each open stream holds a place: a member `<copy id>:<n>` in a sorted set per
 * token and one per client address. What keeps a place alive is not the member
 * but its gateway copy's own lease in the copies registry (sseCopiesKey: copy id
 * -> lease expiry on the Redis clock), renewed by one command per copy every
 * `refreshMs` however many streams it serves. A copy that dies stops renewing;
 * the next take that finds a full set asks the registry which copies are dead
 * and drops their members, so a crash never leaks a place for longer than leaseMs.
 * Scripts: lua/sse-take-place-1, sse-renew-copy-1, sse-dead-copies-1, sse-put-back-1.
 */

/** How long a set of places lives without a take: leftovers of dead copies go at last. */
const SET_TTL_MS = 24 * 60 * 60 * 1000

export interface SseLeasesOptions {
  /** REDIS_KEY_PREFIX */
  prefix: string
  /** Streams one queue token may have open at once, over all gateway copies. */
  perToken: number
  /** Streams one client address may have open at once, over all gateway copies. */
  perClient: number
  /** How long a copy's lease lives unless renewed: the longest a dead copy's streams keep their places. */
  leaseMs?: number
  /** How often this copy renews its lease (one command, whatever the number of its streams). */
  refreshMs?: number
}

/** Where a copy says what it could not do (the gateway's logger fits). */
export interface SseLeasesLog {
  warn(details: { err: unknown }, message: string): void
}

/** A stream's places; `release()` gives them back (idempotent). */
export interface SseLease {
  release(): void
}

/** One open stream's places: its member in the token's set and in the address's. */
class HeldPlaces implements SseLease {
  private released = false

  constructor(
    readonly tokenKey: string,
    readonly clientKey: string,
    readonly id: string,
    private readonly leases: SseLeases,
  ) {}

  release(): void {
    if (this.released) return
    this.released = true
    this.leases.releasePlaces(this)
  }
}

/**
 * The places of open SSE streams, capped per queue token and per client address
 * for the whole cluster: one client opening thousands of streams would hold
 * thousands of heartbeats (keeping tokens alive) and sockets.
 */
export class SseLeases {
  private readonly leaseMs: number
  private readonly refreshMs: number
  /** This copy's id in the registry: the prefix of its members. */
  private readonly copyId = randomUUID()
  private readonly registry: string
  private streamSeq = 0
  /** The places of the streams open on this copy (one small object per stream). */
  private readonly held = new Set<HeldPlaces>()
  /** The first renewal: no place is taken before this copy is in the registry. */
  private readonly firstRenewal: Promise<void>
  private registered = false
  private readonly pending = new Set<Promise<unknown>>()
  private readonly timer: NodeJS.Timeout
  private renewFailing = false
  private open = 0

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SseLeasesOptions,
    private readonly log: SseLeasesLog,
  ) {
    this.leaseMs = options.leaseMs ?? 30_000
    this.refreshMs = options.refreshMs ?? 10_000
    if (this.refreshMs >= this.leaseMs) throw new Error('SSE leases must be renewed before they lapse')
    this.registry = sseCopiesKey(options.prefix)
    defineQueueCommands(redis)
    this.firstRenewal = this.renew()
    this.timer = setInterval(() => void this.renew(), this.refreshMs)
    this.timer.unref()
  }

  /**
   * Takes a place for one more stream of `token` from `clientIp`, or throws 429
   * RATE_LIMITED. Call it after the token is known to exist (no keys for junk tokens).
   */
  async acquire(token: string, clientIp: string): Promise<SseLease> {
    const eventId = eventOfToken(token)
    if (eventId === undefined) throw new AppError('TOKEN_NOT_FOUND', 'no such queue token')
    await this.firstRenewal
    // Not in the registry yet (Redis was away): others would take this copy's places for a dead one's.
    if (!this.registered) await this.redis.queueSseRenewCopy(this.registry, this.copyId, this.leaseMs)
    this.registered = true
    this.streamSeq += 1
    const id = `${this.copyId}:${this.streamSeq}`
    const tokenKey = eventKeys(this.options.prefix, eventId).sseStreams(token)
    const clientKey = clientSseStreamsKey(this.options.prefix, clientIp)

    if (!(await this.take(tokenKey, id, this.options.perToken))) {
      throw this.refusal(
        `this queue token already has ${this.options.perToken} open streams; close one or poll`,
      )
    }
    let clientOk: boolean
    try {
      clientOk = await this.take(clientKey, id, this.options.perClient)
    } catch (error) {
      this.give(tokenKey, id)
      throw error
    }
    if (!clientOk) {
      this.give(tokenKey, id)
      throw this.refusal(`this address already has ${this.options.perClient} open streams; close one or poll`)
    }

    this.open += 1
    const places = new HeldPlaces(tokenKey, clientKey, id, this)
    this.held.add(places)
    return places
  }

  /** Called once by a stream's HeldPlaces when it closes. */
  releasePlaces(places: HeldPlaces): void {
    this.held.delete(places)
    this.open -= 1
    this.give(places.tokenKey, places.id)
    this.give(places.clientKey, places.id)
  }

  /** Streams open on this copy (each holds a lease until it closes). */
  get openStreams(): number {
    return this.open
  }

  /** Stops renewing and waits for releases still on their way to Redis. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    await Promise.allSettled([...this.pending])
  }

  private refusal(detail: string): AppError {
    // A place frees the moment another stream closes, at the latest when a dead copy's lease lapses.
    return new AppError('RATE_LIMITED', detail, { retryAfter: Math.ceil(this.leaseMs / 1_000) })
  }

  private async take(key: string, id: string, limit: number): Promise<boolean> {
    let reply = await this.redis.queueSseTakePlace(key, id, limit, SET_TTL_MS)
    if (replyCode(reply) === Reply.FULL) {
      // Full: are some of the places held by copies that died? Then theirs go first.
      const holders = reply.slice(1).map(String)
      const others = new Set(holders.map((member) => member.slice(0, member.lastIndexOf(':'))))
      others.delete(this.copyId)
      const dead =
        others.size > 0 ? (await this.redis.queueSseDeadCopies(this.registry, ...others)).slice(1) : []
      if (dead.length > 0) {
        reply = await this.redis.queueSseTakePlace(key, id, limit, SET_TTL_MS, ...dead.map(String))
      }
    }
    return replyCode(reply) === Reply.OK
  }

  private give(key: string, id: string): void {
    this.track(
      this.redis.zrem(key, id).catch((error: unknown) => {
        // Not fatal: the lease lapses on its own within leaseMs.
        this.log.warn({ err: error }, 'could not release an SSE stream lease')
      }),
    )
  }

  /** Renews this copy's lease; if it had lapsed, puts its places back (they may have been dropped). */
  private async renew(): Promise<void> {
    try {
      const renewed = await this.track(this.redis.queueSseRenewCopy(this.registry, this.copyId, this.leaseMs))
      if (replyCode(renewed) === Reply.LAPSED && this.held.size > 0) {
        const byKey = new Map<string, string[]>()
        for (const places of this.held) {
          for (const key of [places.tokenKey, places.clientKey]) {
            const ids = byKey.get(key)
            if (ids) ids.push(places.id)
            else byKey.set(key, [places.id])
          }
        }
        await this.track(
          Promise.all([...byKey].map(([key, ids]) => this.redis.queueSsePutBack(key, SET_TTL_MS, ...ids))),
        )
      }
      this.registered = true
      this.renewFailing = false
    } catch (error) {
      // Once per outage, not every round.
      if (!this.renewFailing) this.log.warn({ err: error }, 'could not renew SSE stream leases')
      this.renewFailing = true
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise)
    const forget = () => this.pending.delete(promise)
    promise.then(forget, forget)
    return promise
  }
}
