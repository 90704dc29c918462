import { randomUUID } from 'node:crypto'
import { clientSseStreamsKey, eventKeys, eventOfToken, type RedisClient } from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyBaseLogger } from 'fastify'
import type { Result } from 'ioredis'

/**
 * Each open stream holds a lease: its id in a sorted set (one per token, one per
 * client address) scored by when the lease lapses on the Redis clock. The copy
 * serving the stream renews it every `refreshMs`; a lease whose copy died is not
 * renewed and drops out at the next count, so a crash never leaks a place.
 */
const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

/**
 * Renews the leases of streams still open on this copy. A lease that lapsed while
 * Redis was away (or lost its data) is added back: the stream is still open, so it
 * counts. A released lease is never renewed: its ZREM follows any renewal sent
 * before it on the same connection.
 */
const RENEW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sseLeaseAcquire(key: string, id: string, limit: number, leaseMs: number): Result<number, Context>
    sseLeaseRenew(key: string, leaseMs: number, ...ids: string[]): Result<number, Context>
  }
}

export interface SseLimitsOptions {
  /** REDIS_KEY_PREFIX */
  prefix: string
  /** Streams one queue token may have open at once, over all gateway copies. */
  perToken: number
  /** Streams one client address may have open at once, over all gateway copies. */
  perClient: number
  /** How long a lease lives unless renewed: the longest a dead copy's stream keeps its place. */
  leaseMs?: number
  /** How often this copy renews the leases of its open streams. */
  refreshMs?: number
}

/** A stream's places; `release()` gives them back (idempotent). */
export interface SseLease {
  release(): void
}

/**
 * Caps open SSE streams per queue token and per client address, for the whole
 * cluster. Every open stream costs Redis a poll every 0.5–5 s, so one client
 * opening thousands of them can load Redis like thousands of fans.
 */
export class SseLimits {
  private readonly leaseMs: number
  private readonly refreshMs: number
  /** key -> ids of the streams open on this copy that hold a lease in it. */
  private readonly held = new Map<string, Set<string>>()
  private readonly pending = new Set<Promise<unknown>>()
  private readonly timer: NodeJS.Timeout
  private renewFailing = false
  private open = 0

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SseLimitsOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.leaseMs = options.leaseMs ?? 30_000
    this.refreshMs = options.refreshMs ?? 10_000
    if (this.refreshMs >= this.leaseMs) throw new Error('SSE leases must be renewed before they lapse')
    redis.defineCommand('sseLeaseAcquire', { lua: ACQUIRE_LUA, numberOfKeys: 1 })
    redis.defineCommand('sseLeaseRenew', { lua: RENEW_LUA, numberOfKeys: 1 })
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
    const id = randomUUID()
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

    let released = false
    this.open += 1
    return {
      release: () => {
        if (released) return
        released = true
        this.open -= 1
        this.give(tokenKey, id)
        this.give(clientKey, id)
      },
    }
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
    const taken = (await this.redis.sseLeaseAcquire(key, id, limit, this.leaseMs)) === 1
    if (taken) {
      const ids = this.held.get(key) ?? new Set<string>()
      ids.add(id)
      this.held.set(key, ids)
    }
    return taken
  }

  private give(key: string, id: string): void {
    const ids = this.held.get(key)
    ids?.delete(id)
    if (ids?.size === 0) this.held.delete(key)
    this.track(
      this.redis.zrem(key, id).catch((error: unknown) => {
        // Not fatal: the lease lapses on its own within leaseMs.
        this.log.warn({ err: error }, 'could not release an SSE stream lease')
      }),
    )
  }

  private async renew(): Promise<void> {
    const rounds = [...this.held].map(([key, ids]) => this.redis.sseLeaseRenew(key, this.leaseMs, ...ids))
    const results = await this.track(Promise.allSettled(rounds))
    const failed = results.find((result) => result.status === 'rejected')
    // Once per outage, not once per key every round.
    if (failed && !this.renewFailing)
      this.log.warn({ err: failed.reason }, 'could not renew SSE stream leases')
    this.renewFailing = failed !== undefined
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise)
    const forget = () => this.pending.delete(promise)
    promise.then(forget, forget)
    return promise
  }
}
