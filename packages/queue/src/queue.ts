import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { DurableTickets, markDurable } from './durable-tickets.js'
import { catalogVersionsKey, type EventKeys, eventKeys, saleChangesKey } from './keys.js'
import { PreQueueDraw, type PreQueueDrawOptions } from './pre-queue-draw.js'
import { QueueRecovery, type RecoverySummary } from './recovery.js'
import type { RedisClient } from './redis-client.js'
import { needsRecovery, Reply, replyCode, type ScriptReply } from './replies.js'
import type { SaleState } from './sale-state.js'
import { defineQueueCommands, type ExpiryKeys, joinArgs } from './scripts.js'
import { DEFAULT_QUEUE_TUNING, type QueueSettings, type QueueTuning } from './settings.js'
import { type QueueFacts, toFacts, toTicket } from './ticket.js'
import type { Ticket } from './ticket-schema.js'
import { eventOfToken, newToken } from './token.js'
import { fromToldLine, pairs, type TokenState, toTokenState } from './token-state.js'
import { TurnBatches } from './turn-batches.js'

export interface QueueServiceOptions {
  redis: RedisClient
  db: Kysely<Database>
  /** REDIS_KEY_PREFIX */
  prefix: string
  settings: QueueSettings
  tuning?: Partial<QueueTuning>
  onRecovered?: (summary: RecoverySummary) => void
  /** The pre-queue draw's slice size, and a look between slices (tests). */
  draw?: PreQueueDrawOptions
}

export interface AdmitOptions {
  /**
   * Given the draw this tick found due, to start (it resolves to the tokens placed) or
   * leave to another copy, instead of admit() running and awaiting it: a draw of a large
   * pre-queue takes seconds, which an admission loop ticking other events too must not
   * wait for. `drawn` is then 0.
   */
  onDraw?: (start: () => Promise<number>) => void
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
  /** Pre-queue tokens placed by the draw this tick ran (0 mostly; always 0 with `onDraw`). */
  drawn: number
  /**
   * In how many ms a tick can next do something for this event, unless its sale hash
   * changes first (saleChangesKey) or a join comes; null: not until then. 0 for an OPEN
   * sale with waiters.
   */
  nextTickInMs: number | null
}

/** An event's admission settings as the admission script applies them: its own, else the defaults. */
export interface EffectiveQueueSettings {
  maxActive: number
  admitPerSecond: number
  activeTtlSeconds: number
  waitingIdleSeconds: number
  paused: boolean
}

export interface QueueStatus {
  state: SaleState
  settings: EffectiveQueueSettings
  waiting: number
  ready: number
  admittedLastMinute: number
  /** How long the head of the queue has waited (0: nobody waits). */
  oldestWaiterSeconds: number
  /** Age of the oldest token change not yet in QUEUE_TOKEN. */
  mirrorLagSeconds: number
}

/** One read of an event's queue for the SSE fan-out and the polls (feed-8.lua). */
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
  /** Expiries after the cursor, oldest first (id: the feed's entry id); place set when the token was still waiting. */
  entries: Array<{ id: string; token: string; place: number | null }>
}

/** Most token checks one verify script takes; a burst beyond it takes several. */
const VERIFY_BATCH_MAX = 500

/** Most purchase starts one begin-purchase script takes (each a few Redis calls). */
const BEGIN_BATCH_MAX = 200

/** A token check waiting for its turn's verify script (QueueService.verify). */
interface VerifyCall {
  k: EventKeys
  fields: readonly string[]
  token: string
}

/** What the verify script read for one token; undefined: no such event. */
type VerifyRead = { answer: string; now: number; versions: string[] } | undefined

/** A purchase start waiting for its turn's begin-purchase script (QueueService.beginPurchase). */
interface BeginCall {
  k: EventKeys
  token: string
  owner: string
  claimTtlMs: number
  seats: PurchaseSeats | undefined
}

/** A token as a poll read it: the ticket it answers, the state behind it, and the queue's epoch then. */
export interface TokenRead {
  ticket: Ticket
  state: TokenState
  epoch: string
}

export type VerifyResult =
  | { found: false }
  | {
      found: true
      state: TokenState
      /** Redis server time (ms) when read. */
      now: number
      /** The asked fields of the token's event's catalogue versions ('' when unset), read with the token. */
      catalog: string[]
    }

export type ClaimResult =
  | { ok: true; state: TokenState }
  | { ok: false; reason: 'MISSING' | 'NOT_READY' | 'EXPIRED' | 'BUSY' }
  /** Both name every unavailable seat of the order (sold or held by another payment); SEAT_TAKEN when any is sold. */
  | { ok: false; reason: 'SEAT_TAKEN' | 'SEAT_LOCKED'; seatIds: number[] }

/** The seats a purchase locks: one show's, ascending seat id, each held for lockTtlMs while kept alive. */
export interface PurchaseSeats {
  scheduleId: number
  seatIds: readonly number[]
  lockTtlMs: number
}

/** Catalogue versions a sale rewrites (catalogVersionsKey): field, new value, …, and their life. */
export interface CatalogChange {
  fieldsAndValues: readonly string[]
  ttlMs: number
}

/** 503: a change a fan is about to be told could not be made durable (makeDurable). */
function cannotRecord(cause?: unknown): AppError {
  return new AppError('SERVICE_UNAVAILABLE', 'the queue cannot record this change right now, retry shortly', {
    retryAfter: 1,
    cause,
  })
}

/** A write to QUEUE_TOKEN failed: its own answer if it has one, else cannotRecord (503), whatever MySQL's error. */
function refusedRecord(error: unknown): never {
  throw error instanceof AppError ? error : cannotRecord(error)
}

/**
 * The queue's typed API over the Lua scripts. Every call is one script run
 * (one round trip); a script that finds the event's marker missing answers
 * RECOVER, and the call rebuilds the queue from MySQL and runs once more.
 */
export class QueueService {
  readonly recovery: QueueRecovery
  private readonly preQueue: PreQueueDraw
  private readonly durable: DurableTickets
  /** Token checks of one event (and catalogue fields), gathered for this turn's verify script. */
  private readonly verifyBatches = new TurnBatches<VerifyCall, VerifyRead>(
    (calls) => this.runVerifyBatch(calls),
    VERIFY_BATCH_MAX,
  )
  /** Purchase starts of one event, gathered for this turn's begin-purchase script. */
  private readonly beginBatches = new TurnBatches<BeginCall, ScriptReply | undefined>(
    (calls) => this.runBeginBatch(calls),
    BEGIN_BATCH_MAX,
  )
  /** States being made durable for a reader, by epoch:token:version (makeDurable). */
  private readonly durableWrites = new Map<string, Promise<void>>()
  /** Told of each event a join or a leave of this copy changed (onActivity). */
  private readonly activityListeners = new Set<(eventId: number) => void>()
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
    this.durable = new DurableTickets({ db: options.db, redis: options.redis, prefix: options.prefix })
    this.preQueue = new PreQueueDraw(options.redis, options.db, options.draw)
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

  /**
   * `listener` is told the event's id each time a join puts a fan in its line, or a
   * leave takes one out, through this copy (the gateway's loops wake that event: an
   * idle one is not ticked). Returns the function that stops it.
   */
  onActivity(listener: (eventId: number) => void): () => void {
    this.activityListeners.add(listener)
    return () => this.activityListeners.delete(listener)
  }

  private tellActivity(eventId: number): void {
    for (const listener of this.activityListeners) listener(eventId)
  }

  /** The keys of a token's event (the event id is part of the token); undefined for a malformed token. */
  private keysOfToken(token: string): EventKeys | undefined {
    const eventId = eventOfToken(token)
    return eventId === undefined ? undefined : this.keys(eventId)
  }

  private expiryKeys(k: EventKeys, token: string): ExpiryKeys {
    return [k.marker, k.token(token), k.waiting, k.active, k.accounts, k.records, k.stream, k.feed]
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

  /**
   * A state read from Redis that the mirror has not written yet (its reply says `_u`)
   * is written to QUEUE_TOKEN here, before anyone is told it, so a Redis loss cannot
   * undo what a fan was told: an admission, an expiry, a leave. Usually the mirror
   * has already done it (the mark is gone, nothing to do); otherwise this shares a
   * group commit with the event's other changes, apart from its joins (durable-tickets.ts, Lane). While MySQL cannot take the write the caller
   * answers 503 rather than tell a state that might not survive (whatever MySQL's
   * error: read-only, a pool closing, …). Readers of one state share one write, so a
   * long outage with fans polling does not pile up copies of it.
   */
  private async makeDurable(k: EventKeys, fields: Record<string, string>, state: TokenState): Promise<void> {
    if (fields._u !== '1') return
    const epoch = Number(fields._epoch)
    const id = `${epoch}:${state.token}:${state.version}`
    let writing = this.durableWrites.get(id)
    if (!writing) {
      writing = this.durable
        .persist(k.eventId, epoch, state, { lane: 'changes' })
        .then(() => markDurable(this.redis, k, epoch, [state]))
        .catch(refusedRecord)
        .finally(() => this.durableWrites.delete(id))
      this.durableWrites.set(id, writing)
    }
    await writing
  }

  /** A poll reply's ticket and state (and the queue's epoch then), made durable first when the mirror is behind it. */
  private async toldTicket(k: EventKeys, reply: ScriptReply): Promise<TokenRead> {
    const fields = pairs(reply, 1)
    const state = toTokenState(fields)
    await this.makeDurable(k, fields, state)
    return { ticket: toTicket(state, toFacts(fields), this.settings), state, epoch: fields._epoch ?? '' }
  }

  /** Joins the event's queue; an account with a live token gets that same ticket back. */
  async join(eventId: number, accountId: string): Promise<{ ticket: Ticket; created: boolean }> {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueJoin(...joinArgs(k, newToken(eventId), accountId, this.tuning.mirrorMaxBacklog)),
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
    // In the line from now on, whatever becomes of the durable write below.
    this.tellActivity(eventId)
    // Acknowledged = durable: answer only once the ticket's row has committed. Whatever
    // MySQL's error (a lost connection, a server gone read-only, a refused row), the fan
    // is told to retry (503), not that something broke: the ticket waits in Redis, and
    // joining again returns it.
    await this.durable
      .persist(eventId, Number(fields._epoch), state, {
        entry: fields._entry,
        mayBeWritten: replyCode(reply) === Reply.EXISTING,
      })
      .catch(refusedRecord)
    if (fields._u === '1') await markDurable(this.redis, k, Number(fields._epoch), [state])
    return {
      ticket: toTicket(state, toFacts(fields), this.settings),
      created: replyCode(reply) === Reply.CREATED,
    }
  }

  /** The poll script (poll-7.lua); `touch` counts as being seen for a WAITING token. */
  private poll(k: EventKeys, token: string, touch: boolean): Promise<ScriptReply | undefined> {
    return this.withRecovery(k.eventId, () =>
      this.redis.queuePoll(
        k.marker,
        k.token(token),
        k.waiting,
        k.records,
        k.admitted,
        k.bucket,
        k.sale,
        token,
        touch ? '1' : '0',
      ),
    )
  }

  /** The ticket for a token, or undefined if unknown; `touch` counts as being seen (polling) for a WAITING token. */
  async get(token: string, options: { touch: boolean } = { touch: true }): Promise<Ticket | undefined> {
    const k = this.keysOfToken(token)
    if (!k) return undefined
    const reply = await this.poll(k, token, options.touch)
    if (!reply || replyCode(reply) === Reply.MISSING) return undefined
    return (await this.toldTicket(k, reply)).ticket
  }

  /** The ticket and the token's state (its place), or undefined if unknown; a heartbeat like `get`. */
  async follow(token: string): Promise<TokenRead | undefined> {
    const k = this.keysOfToken(token)
    if (!k) return undefined
    const reply = await this.poll(k, token, true)
    if (!reply || replyCode(reply) === Reply.MISSING) return undefined
    return this.toldTicket(k, reply)
  }

  /** The ticket a poll answers for `state` given a feed read's facts and the token's 0-based rank. */
  ticketAt(state: TokenState, facts: QueueFacts, rank: number | null): Ticket {
    return toTicket(state, { ...facts, rank }, this.settings)
  }

  /**
   * One read for every SSE stream and every waiting poll of the event on this copy
   * (feed-8.lua): head, gaps after `cursor` ('' for none), the facts of a poll; marks
   * the streamed `touch` tokens seen, and records the `polled` ones seen as a poll does.
   * undefined: no such event.
   */
  async readFeed(
    eventId: number,
    cursor: string,
    maxEntries: number,
    touch: readonly string[] = [],
    polled: readonly string[] = [],
  ) {
    const k = this.keys(eventId)
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueFeed(
        k.marker,
        k.waiting,
        k.feed,
        k.admitted,
        k.bucket,
        k.sale,
        k.streaming,
        k.records,
        cursor,
        maxEntries,
        touch.length,
        ...touch,
        ...polled,
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
    for (let i = 0; i + 2 < entries.length; i += 3) {
      const place = entries[i + 2] as string
      read.entries.push({
        id: entries[i] as string,
        token: entries[i + 1] as string,
        place: place === '' ? null : Number(place),
      })
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

  /**
   * Each token's place while it waits (null otherwise): one ZMSCORE per 5,000 tokens, so
   * neither a call's arguments (spread onto the stack) nor one command's run in Redis grow
   * without bound.
   */
  async waitingPlaces(eventId: number, tokens: readonly string[]): Promise<Array<number | null>> {
    const key = this.keys(eventId).waiting
    const places: Array<number | null> = []
    for (let i = 0; i < tokens.length; i += 5_000) {
      const scores = await this.redis.zmscore(key, ...tokens.slice(i, i + 5_000))
      for (const score of scores) places.push(score === null ? null : Number(score))
    }
    return places
  }

  /** One admission tick for the event (expire, sweep, end a sold-out queue, admit, draw); see admit-11.lua. */
  async admit(eventId: number, options: AdmitOptions = {}): Promise<AdmitResult> {
    const k = this.keys(eventId)
    const s = this.settings
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueAdmit(
        k.marker,
        k.waiting,
        k.records,
        k.active,
        k.accounts,
        k.bucket,
        k.admitted,
        k.stream,
        k.sale,
        k.feed,
        k.streaming,
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
    let drawn = 0
    if (Number(reply?.[8] ?? 0) === 1) {
      const start = () => this.preQueue.drawIfDue(k)
      if (options.onDraw) options.onDraw(start)
      else drawn = await start()
    }
    const nextTickIn = Number(reply?.[9] ?? 0)
    const nextTickInMs = nextTickIn < 0 ? null : nextTickIn
    return { admitted, timedOut, abandoned, active, waiting, state, ended, drawn, nextTickInMs }
  }

  /**
   * The event's live figures from Redis (SPEC §7 queue status), its settings as the
   * admission script applies them included; undefined: no such event. One read script
   * and one XRANGE: the operator API and the gateway's per-event metrics both use it.
   */
  async status(eventId: number): Promise<QueueStatus | undefined> {
    const k = this.keys(eventId)
    const s = this.settings
    const reply = await this.withRecovery(eventId, () =>
      this.redis.queueStatus(
        k.marker,
        k.waiting,
        k.active,
        k.admitted,
        k.sale,
        k.records,
        s.maxActive,
        s.admitPerSecond,
        s.activeTtlSeconds * 1000,
        s.waitingIdleSeconds * 1000,
      ),
    )
    if (!reply) return undefined
    const [, state, waiting, ready, admittedLastMinute, oldest, now, maxActive, rate, ttlMs, idleMs, paused] =
      reply
    const [first] = await this.redis.xrange(k.stream, '-', '+', 'COUNT', 1)
    const firstMs = first ? Number(first[0].split('-')[0]) : Number(now)
    return {
      state: state as SaleState,
      settings: {
        maxActive: Number(maxActive),
        admitPerSecond: Number(rate),
        activeTtlSeconds: Number(ttlMs) / 1000,
        waitingIdleSeconds: Number(idleMs) / 1000,
        paused: Number(paused) === 1,
      },
      waiting: Number(waiting),
      ready: Number(ready),
      admittedLastMinute: Number(admittedLastMinute),
      oldestWaiterSeconds: oldest === '' ? 0 : Math.max(0, (Number(now) - Number(oldest)) / 1000),
      mirrorLagSeconds: Math.max(0, (Number(now) - firstMs) / 1000),
    }
  }

  /**
   * The current value of saleChangesKey: a new one means some event's sale hash changed
   * (null once Redis lost it, itself a change). The admission loop reads it every tick.
   */
  saleChanges(): Promise<string | null> {
    return this.redis.get(saleChangesKey(this.prefix))
  }

  /** Leaves the queue (or gives a READY slot back); answered once the leave is durable. */
  async leave(token: string): Promise<'LEFT' | 'ALREADY_EXPIRED' | 'MISSING'> {
    const k = this.keysOfToken(token)
    if (!k) return 'MISSING'
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueLeave(...this.expiryKeys(k, token), token, this.settings.expiredRetentionSeconds),
    )
    if (!reply || replyCode(reply) === Reply.MISSING) return 'MISSING'
    this.tellActivity(k.eventId)
    const fields = pairs(reply, 1)
    await this.makeDurable(k, fields, toTokenState(fields))
    return replyCode(reply) as 'LEFT' | 'ALREADY_EXPIRED'
  }

  /**
   * Reads a token for authorization (booking-api; no heartbeat); with `catalogFields`,
   * also those fields of its event's catalogue versions (the booking API's cache
   * check), in the same script. A state the mirror has not written yet is made
   * durable first, like a poll's: nothing is done on an admission a Redis loss could undo.
   */
  async verify(token: string, catalogFields: readonly string[] = []): Promise<VerifyResult> {
    const k = this.keysOfToken(token)
    if (!k) return { found: false }
    const read = await this.verifyInBatch(k, token, catalogFields)
    if (!read) return { found: false }
    const { answer, now, versions } = read
    if (answer === '') return { found: false }
    const { state, epoch, unmirrored } = fromToldLine(answer)
    await this.makeDurable(k, { _epoch: epoch, _u: unmirrored }, state)
    return { found: true, state, now, catalog: versions }
  }

  /**
   * A token's answer from the verify script run for every check of its event (and the
   * same catalogue fields) that came in during this turn of the event loop: a read of
   * Redis sent after the check was asked for, shared, so a burst of requests costs one
   * script. undefined: no such event.
   */
  private verifyInBatch(k: EventKeys, token: string, fields: readonly string[]): Promise<VerifyRead> {
    return this.verifyBatches.add(`${k.eventId}\n${fields.join('\n')}`, { k, fields, token })
  }

  /** One verify script for a turn's checks of one event and fields (each token once). */
  private async runVerifyBatch(calls: readonly VerifyCall[]): Promise<VerifyRead[]> {
    const { k, fields } = calls[0] as VerifyCall
    const tokens = [...new Set(calls.map((call) => call.token))]
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueVerify(
        k.marker,
        k.tokenKeyBase,
        k.records,
        k.waiting,
        catalogVersionsKey(this.prefix, k.eventId),
        fields.length,
        ...fields,
        ...tokens,
      ),
    )
    if (!reply) return calls.map(() => undefined)
    const [, now, versions, answers] = reply as unknown as [unknown, string, string[], string[]]
    const read = { now: Number(now), versions: versions.map(String) }
    const answerOf = new Map(tokens.map((token, i) => [token, String(answers[i] ?? '')]))
    return calls.map((call) => ({ answer: answerOf.get(call.token) ?? '', ...read }))
  }

  /**
   * Starts a payment: claims the READY token for this attempt (at most one claim holds
   * at a time) and locks the order's seats, in one script, or does neither. A seat
   * already sold (SOLD marker) or locked by another payment is answered from Redis.
   * Without `seats` it only claims the token. The starts of one event asked for in one
   * turn of the event loop share one run of the script (runBeginBatch), each in turn.
   */
  async beginPurchase(
    token: string,
    owner: string,
    claimTtlMs: number,
    seats?: PurchaseSeats,
  ): Promise<ClaimResult> {
    const k = this.keysOfToken(token)
    if (!k) return { ok: false, reason: 'MISSING' }
    const begin = () => this.beginBatches.add(String(k.eventId), { k, token, owner, claimTtlMs, seats })
    let reply = await begin()
    if (reply && replyCode(reply) === Reply.UNMIRRORED) {
      // Admitted, but not in MySQL yet: write the admission (verify does), then start.
      await this.verify(token)
      reply = await begin()
    }
    if (!reply) return { ok: false, reason: 'MISSING' }
    switch (replyCode(reply)) {
      case Reply.UNMIRRORED:
        // Written a moment ago, and changed again since: let the fan retry rather than say "waiting".
        throw cannotRecord()
      case Reply.OK:
        return { ok: true, state: toTokenState(pairs(reply, 1)) }
      case Reply.FAILED:
        // Redis refused this attempt alone (the others of its batch were answered): as the
        // error of a script of its own would be, a fault, not an answer about the token.
        throw new Error(`begin-purchase failed in Redis: ${String(reply[1])}`)
      case Reply.SEAT_TAKEN:
      case Reply.SEAT_LOCKED:
        return {
          ok: false,
          reason: replyCode(reply) as 'SEAT_TAKEN' | 'SEAT_LOCKED',
          seatIds: reply.slice(1).map(Number),
        }
      default:
        return { ok: false, reason: replyCode(reply) as 'MISSING' | 'NOT_READY' | 'EXPIRED' | 'BUSY' }
    }
  }

  /**
   * One begin-purchase script for a turn's purchase starts of one event, in the order they
   * were asked for: the script runs them one after another, as separate scripts would.
   */
  private async runBeginBatch(calls: readonly BeginCall[]): Promise<Array<ScriptReply | undefined>> {
    const { k } = calls[0] as BeginCall
    const attempts = calls.flatMap(({ token, owner, claimTtlMs, seats }) => [
      token,
      owner,
      claimTtlMs,
      seats ? k.seatKeyBase(seats.scheduleId) : '',
      seats?.lockTtlMs ?? 0,
      seats?.seatIds.length ?? 0,
      ...(seats?.seatIds ?? []),
    ])
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueBeginPurchase(k.marker, k.tokenKeyBase, k.active, k.waiting, ...attempts),
    )
    if (!reply) return calls.map(() => undefined)
    return reply.slice(1) as unknown as ScriptReply[]
  }

  /** Claims a READY token for one payment attempt (beginPurchase without seats). */
  claim(token: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    return this.beginPurchase(token, owner, ttlMs)
  }

  /** Keeps a running payment's claim and seat locks alive; false once the claim is no longer this owner's. */
  async extendPurchase(
    token: string,
    owner: string,
    claimTtlMs: number,
    seats?: PurchaseSeats,
  ): Promise<boolean> {
    const k = this.keysOfToken(token)
    if (!k) return false
    const reply = await this.redis.queueExtendPurchase(
      k.token(token),
      owner,
      claimTtlMs,
      seats ? k.seatKeyBase(seats.scheduleId) : '',
      seats?.lockTtlMs ?? 0,
      ...(seats?.seatIds ?? []),
    )
    return replyCode(reply) === Reply.OK
  }

  /** Ends a payment that did not commit: the claim is given back (the token stays READY), the seats unlocked. */
  async abortPurchase(token: string, owner: string, seats?: PurchaseSeats): Promise<boolean> {
    const k = this.keysOfToken(token)
    if (!k) return false
    const reply = await this.redis.queueAbortPurchase(
      k.token(token),
      owner,
      seats ? k.seatKeyBase(seats.scheduleId) : '',
      ...(seats?.seatIds ?? []),
    )
    return replyCode(reply) === Reply.OK
  }

  /** Gives a claim back after a failed attempt (abortPurchase without seats). */
  releaseClaim(token: string, owner: string): Promise<boolean> {
    return this.abortPurchase(token, owner)
  }

  /**
   * After the payment committed, in one script: the token EXPIRED (COMPLETED) at
   * `completedAt` (the commit time), its slot freed, the seats marked SOLD so later
   * buyers of them are refused in Redis, and the `catalog` versions rewritten (the
   * booking API's caches; catalogVersionsKey). false: the claim was not this owner's.
   * `committedVersion`: the payment's transaction wrote the token COMPLETED to
   * QUEUE_TOKEN at this version (completedVersion): Redis does not hand the same change
   * to the mirror again, unless the token changed while the payment ran. With it, the
   * token ends COMPLETED even when the claim is no longer this owner's (a retry took over
   * the lapsed claim, or a rebuild mid-payment left none): the payment did commit.
   */
  async finishPurchase(
    token: string,
    owner: string,
    completedAt: Date,
    seats?: PurchaseSeats,
    catalog?: CatalogChange,
    committedVersion?: number,
  ): Promise<boolean> {
    const k = this.keysOfToken(token)
    if (!k) return false
    const seatIds = seats?.seatIds ?? []
    // Through a rebuild when Redis lost the queue: one that read QUEUE_TOKEN before this
    // payment committed brings the token back READY, and only this run ends it then.
    const reply = await this.withRecovery(k.eventId, () =>
      this.redis.queueFinishPurchase(
        ...this.expiryKeys(k, token),
        catalogVersionsKey(this.prefix, k.eventId),
        token,
        owner,
        completedAt.getTime(),
        this.settings.expiredRetentionSeconds,
        seats ? k.seatKeyBase(seats.scheduleId) : '',
        this.tuning.soldSeatMarkerMs,
        catalog?.ttlMs ?? 0,
        committedVersion ?? '',
        seatIds.length,
        ...seatIds,
        ...(catalog?.fieldsAndValues ?? []),
      ),
    )
    return reply !== undefined && replyCode(reply) === Reply.OK
  }

  /** Expires a claimed token as COMPLETED (finishPurchase without seats). */
  complete(token: string, owner: string, completedAt: Date): Promise<boolean> {
    return this.finishPurchase(token, owner, completedAt)
  }

  /** After a refund committed: its seats lose their SOLD marker and can be bought again at once. */
  async releaseSeats(eventId: number, scheduleId: number, seatIds: readonly number[]): Promise<number> {
    const k = this.keys(eventId)
    const reply = await this.redis.queueReleaseSeats(k.marker, k.seatKeyBase(scheduleId), ...seatIds)
    return Number(reply[1] ?? 0)
  }
}
