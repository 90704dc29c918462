import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { DurableTickets } from './durable-tickets.js'
import { type EventKeys, eventKeys } from './keys.js'
import { PreQueueDraw } from './pre-queue-draw.js'
import { QueueRecovery, type RecoverySummary } from './recovery.js'
import type { RedisClient } from './redis-client.js'
import { needsRecovery, Reply, replyCode, type ScriptReply } from './replies.js'
import type { SaleState } from './sale.js'
import { defineQueueCommands, type ExpiryKeys } from './scripts.js'
import { DEFAULT_QUEUE_TUNING, type QueueSettings, type QueueTuning } from './settings.js'
import { type QueueFacts, toFacts, toTicket } from './ticket.js'
import type { Ticket } from './ticket-schema.js'
import { eventOfToken, newToken } from './token.js'
import { pairs, type TokenState, toTokenState } from './token-state.js'

export interface QueueServiceOptions {
  redis: RedisClient
  db: Kysely<Database>
  /** REDIS_KEY_PREFIX */
  prefix: string
  settings: QueueSettings
  tuning?: Partial<QueueTuning>
  onRecovered?: (summary: RecoverySummary) => void
}

export interface AdmitResult {
  admitted: number
  timedOut: number
  abandoned: number
  active: number
  waiting: number
  /** The sale's state (SPEC §8) at this tick. */
  state: SaleState
  /** WAITING tickets ended because the event sold out or its sale closed. */
  ended: number
  /** Pre-queue tokens placed by the draw this tick ran (0 mostly). */
  drawn: number
}

export interface QueueStatus {
  state: SaleState
  waiting: number
  ready: number
  admittedLastMinute: number
  /** How long the head of the queue has waited (0: nobody waits). */
  oldestWaiterSeconds: number
  /** Age of the oldest token change not yet in QUEUE_TOKEN. */
  mirrorLagSeconds: number
}

/** One read of an event's queue for the SSE fan-out (feed-7.lua). */
export interface FeedRead {
  /** The marker's value: a new one means the queue was rebuilt from MySQL. */
  epoch: string
  /** Place of the first waiting token; null when nobody waits. */
  head: number | null
  /** The pre-queue's order is drawn (places reordered once at opening). */
  drawn: boolean
  /** Entries ever appended to the event's feed (counts the trimmed ones too). */
  added: number
  /** The feed id this read reached: the next read's cursor. */
  lastId: string
  /** What a poll at this moment would use besides the token (rank left out). */
  facts: QueueFacts
  /** Expiries after the cursor, oldest first; place set when the token was still waiting. */
  entries: Array<{ token: string; place: number | null }>
}

export type VerifyResult =
  | { found: false }
  | { found: true; state: TokenState /** Redis server time (ms) when read. */; now: number }

export type ClaimResult =
  | { ok: true; state: TokenState }
  | { ok: false; reason: 'MISSING' | 'NOT_READY' | 'EXPIRED' | 'BUSY' }

/**
 * The queue's typed API over the Lua scripts. Every call is one script run
 * (one round trip); a script that finds the event's marker missing answers
 * RECOVER, and the call rebuilds the queue from MySQL and runs once more.
 */
export class QueueService {
  readonly recovery: QueueRecovery
  private readonly preQueue: PreQueueDraw
  private readonly durable: DurableTickets
  private readonly redis: RedisClient
  private readonly prefix: string
  readonly settings: QueueSettings
  readonly tuning: QueueTuning

  constructor(options: QueueServiceOptions) {
    this.redis = options.redis
    this.prefix = options.prefix
    this.settings = options.settings
    this.tuning = { ...DEFAULT_QUEUE_TUNING, ...options.tuning }
    defineQueueCommands(this.redis)
    this.durable = new DurableTickets({ db: options.db })
    this.preQueue = new PreQueueDraw(options.redis, options.db)
    this.recovery = new QueueRecovery({
      redis: options.redis,
      db: options.db,
      prefix: options.prefix,
      retentionSeconds: options.settings.expiredRetentionSeconds,
      lockTtlMs: this.tuning.recoveryLockTtlMs,
      ...(options.onRecovered ? { onRecovered: options.onRecovered } : {}),
    })
  }

  keys(eventId: number): EventKeys {
    return eventKeys(this.prefix, eventId)
  }

  /** The keys of a token's event (the event id is part of the token); undefined for a malformed token. */
  private keysOfToken(token: string): EventKeys | undefined {
    const eventId = eventOfToken(token)
    return eventId === undefined ? undefined : this.keys(eventId)
  }

  private expiryKeys(k: EventKeys, token: string): ExpiryKeys {
    return [k.marker, k.token(token), k.waiting, k.heartbeat, k.active, k.accounts, k.stream, k.feed]
  }

  /** Runs a script; if it answers RECOVER, rebuilds the event's queue and runs once more. undefined: no such event. */
  private async withRecovery(
    eventId: number,
    run: () => Promise<ScriptReply>,
  ): Promise<ScriptReply | undefined> {
    let reply = await run()
    if (!needsRecovery(reply)) return reply
    if ((await this.recovery.recover(eventId)) === 'UNKNOWN_EVENT') return undefined
    reply = await run()
    if (needsRecovery(reply)) {
      throw new AppError('SERVICE_UNAVAILABLE', 'the queue is being restored, retry shortly', {
        retryAfter: 1,
      })
    }
    return reply
  }

  private ticket(reply: Array<string | number>): Ticket {
    const fields = pairs(reply, 1)
    return toTicket(toTokenState(fields), toFacts(fields), this.settings)
  }

  /** Joins the event's queue; an account with a live token gets that same ticket back. */
  async join(eventId: number, accountId: string): Promise<{ ticket: Ticket; created: boolean }> {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueJoin(
        k.marker,
        k.seq,
        k.waiting,
        k.heartbeat,
        k.accounts,
        k.stream,
        k.admitted,
        k.bucket,
        k.sale,
        k.tokenKeyBase,
        newToken(eventId),
        accountId,
        eventId,
        this.tuning.mirrorMaxBacklog,
      ),
    )
    if (!reply) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
    switch (replyCode(reply)) {
      case Reply.BACKLOG:
        throw new AppError('SERVICE_UNAVAILABLE', 'the queue is busy recording places; join again shortly', {
          retryAfter: 2,
        })
      case Reply.SALE_NOT_OPEN: {
        const opensAt = new Date(Number(reply[1])).toISOString()
        throw new AppError('SALE_NOT_OPEN', `the queue for event ${eventId} opens at ${opensAt}`, {
          extensions: { opensAt },
        })
      }
      case Reply.SOLD_OUT:
        throw new AppError('EVENT_SOLD_OUT', `event ${eventId} is sold out`)
      case Reply.SALE_CLOSED:
        throw new AppError('SALE_CLOSED', `the sale of event ${eventId} is closed`)
    }
    const fields = pairs(reply, 1)
    const state = toTokenState(fields)
    // Acknowledged = durable: answer only once the ticket's row has committed.
    await this.durable.persist(eventId, Number(fields._epoch), state)
    return {
      ticket: toTicket(state, toFacts(fields), this.settings),
      created: replyCode(reply) === Reply.CREATED,
    }
  }

  /** The ticket for a token, or undefined if unknown; `touch` counts as a heartbeat for a WAITING token. */
  async get(token: string, options: { touch: boolean } = { touch: true }): Promise<Ticket | undefined> {
    const k = this.keysOfToken(token)
    if (!k) return undefined
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queuePoll(
        k.marker,
        k.token(token),
        k.waiting,
        k.heartbeat,
        k.admitted,
        k.bucket,
        k.sale,
        token,
        options.touch ? '1' : '0',
      ),
    )
    return !reply || replyCode(reply) === Reply.MISSING ? undefined : this.ticket(reply)
  }

  /** The ticket and the token's state (its place), or undefined if unknown; a heartbeat like `get`. */
  async follow(token: string): Promise<{ ticket: Ticket; state: TokenState } | undefined> {
    const k = this.keysOfToken(token)
    if (!k) return undefined
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queuePoll(
        k.marker,
        k.token(token),
        k.waiting,
        k.heartbeat,
        k.admitted,
        k.bucket,
        k.sale,
        token,
        '1',
      ),
    )
    if (!reply || replyCode(reply) === Reply.MISSING) return undefined
    const fields = pairs(reply, 1)
    const state = toTokenState(fields)
    return { ticket: toTicket(state, toFacts(fields), this.settings), state }
  }

  /** The ticket a poll answers for `state` given a feed read's facts and the token's 0-based rank. */
  ticketAt(state: TokenState, facts: QueueFacts, rank: number | null): Ticket {
    return toTicket(state, { ...facts, rank }, this.settings)
  }

  /**
   * One read for every SSE stream of the event on this copy (feed-7.lua): head, gaps
   * after `cursor` ('' for none), the facts of a poll; refreshes the heartbeat of `touch`.
   * undefined: no such event.
   */
  async readFeed(eventId: number, cursor: string, maxEntries: number, touch: string[] = []) {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueFeed(
        k.marker,
        k.waiting,
        k.feed,
        k.admitted,
        k.bucket,
        k.sale,
        k.heartbeat,
        cursor,
        maxEntries,
        ...touch,
      ),
    )
    if (!reply) return undefined
    const [, epoch, head, drawn, added, lastId, facts, entries] = reply as unknown as [
      string,
      string,
      string,
      string,
      number | string,
      string,
      string[],
      string[],
    ]
    const read: FeedRead = {
      epoch,
      head: head === '' ? null : Number(head),
      drawn: drawn === '1',
      added: Number(added),
      lastId,
      facts: toFacts(pairs(facts)),
      entries: [],
    }
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const place = entries[i + 1] as string
      read.entries.push({ token: entries[i] as string, place: place === '' ? null : Number(place) })
    }
    return read
  }

  /** Places in [from, to] no waiting token holds, as inclusive ranges (holes-2.lua); undefined: no such event. */
  async holes(
    eventId: number,
    from: number,
    to: number,
  ): Promise<{ epoch: string; ranges: number[] } | undefined> {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () => this.redis.queueHoles(k.marker, k.waiting, from, to))
    if (!reply) return undefined
    return { epoch: String(reply[1]), ranges: reply.slice(2).map(Number) }
  }

  /** Each token's place while it waits (null otherwise): one ZMSCORE, whatever the number of tokens. */
  async waitingPlaces(eventId: number, tokens: string[]): Promise<Array<number | null>> {
    if (tokens.length === 0) return []
    const scores = await this.redis.zmscore(this.keys(eventId).waiting, ...tokens)
    return scores.map((score) => (score === null ? null : Number(score)))
  }

  /** One admission tick for the event (expire, sweep, end a sold-out queue, admit, draw); see admit-10.lua. */
  async admit(eventId: number): Promise<AdmitResult> {
    const k = this.keys(eventId)
    const s = this.settings
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueAdmit(
        k.marker,
        k.waiting,
        k.heartbeat,
        k.active,
        k.accounts,
        k.bucket,
        k.admitted,
        k.stream,
        k.sale,
        k.feed,
        k.tokenKeyBase,
        s.maxActive,
        s.admitPerSecond,
        s.activeTtlSeconds * 1000,
        s.waitingIdleSeconds * 1000,
        s.expiredRetentionSeconds,
        this.tuning.admitBatch,
        this.tuning.mirrorMaxBacklog,
      ),
    )
    const [admitted = 0, timedOut = 0, abandoned = 0, active = 0, waiting = 0] = (reply ?? [])
      .slice(1, 6)
      .map(Number)
    const state = (reply?.[6] ?? 'OPEN') as SaleState
    const ended = Number(reply?.[7] ?? 0)
    // The sale has opened and its pre-queue waits: draw it (once, whichever copy gets here first).
    const drawn = Number(reply?.[8] ?? 0) === 1 ? await this.preQueue.drawIfDue(k) : 0
    return { admitted, timedOut, abandoned, active, waiting, state, ended, drawn }
  }

  /** The event's live figures from Redis (SPEC §7 queue status); undefined: no such event. */
  async status(eventId: number): Promise<QueueStatus | undefined> {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueStatus(k.marker, k.waiting, k.active, k.admitted, k.sale, k.tokenKeyBase),
    )
    if (!reply) return undefined
    const [, state, waiting, ready, admittedLastMinute, oldest, now] = reply
    const [first] = await this.redis.xrange(k.stream, '-', '+', 'COUNT', 1)
    const firstMs = first ? Number(first[0].split('-')[0]) : Number(now)
    return {
      state: state as SaleState,
      waiting: Number(waiting),
      ready: Number(ready),
      admittedLastMinute: Number(admittedLastMinute),
      oldestWaiterSeconds: oldest === '' ? 0 : Math.max(0, (Number(now) - Number(oldest)) / 1000),
      mirrorLagSeconds: Math.max(0, (Number(now) - firstMs) / 1000),
    }
  }

  /** Leaves the queue (or gives a READY slot back). */
  async leave(token: string): Promise<'LEFT' | 'ALREADY_EXPIRED' | 'MISSING'> {
    const k = this.keysOfToken(token)
    if (!k) return 'MISSING'
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueLeave(...this.expiryKeys(k, token), token, this.settings.expiredRetentionSeconds),
    )
    return (reply ? replyCode(reply) : Reply.MISSING) as 'LEFT' | 'ALREADY_EXPIRED' | 'MISSING'
  }

  /** Reads a token for authorization (booking-api); no heartbeat, no side effects. */
  async verify(token: string): Promise<VerifyResult> {
    const k = this.keysOfToken(token)
    if (!k) return { found: false }
    const reply = await this.withRecovery(k.eventId, () => this.redis.queueVerify(k.marker, k.token(token)))
    if (!reply || replyCode(reply) !== Reply.OK) return { found: false }
    const fields = pairs(reply, 1)
    return { found: true, state: toTokenState(fields), now: Number(fields._now) }
  }

  /** Claims a READY token for one payment attempt; at most one claim holds at a time. */
  async claim(token: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    const k = this.keysOfToken(token)
    if (!k) return { ok: false, reason: 'MISSING' }
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueClaim(k.marker, k.token(token), k.active, token, owner, ttlMs),
    )
    if (!reply) return { ok: false, reason: 'MISSING' }
    if (replyCode(reply) !== Reply.OK)
      return { ok: false, reason: replyCode(reply) as 'MISSING' | 'NOT_READY' | 'EXPIRED' | 'BUSY' }
    return { ok: true, state: toTokenState(pairs(reply, 1)) }
  }

  /** Gives a claim back after a failed attempt; the token stays READY. */
  async releaseClaim(token: string, owner: string): Promise<boolean> {
    const k = this.keysOfToken(token)
    if (!k) return false
    return replyCode(await this.redis.queueReleaseClaim(k.token(token), owner)) === Reply.OK
  }

  /** Expires a claimed token as COMPLETED at `completedAt` (the payment's commit time). */
  async complete(token: string, owner: string, completedAt: Date): Promise<boolean> {
    const k = this.keysOfToken(token)
    if (!k) return false
    const reply = await this.redis.queueComplete(
      ...this.expiryKeys(k, token),
      token,
      owner,
      completedAt.getTime(),
      this.settings.expiredRetentionSeconds,
    )
    return replyCode(reply) === Reply.OK
  }
}
