import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { type EventKeys, eventKeys } from './keys.js'
import { writeInCurrentEpoch } from './queue-epochs.repository.js'
import { notYetWritten } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { writeApart } from './refused-rows.js'
import type { TokenState } from './token-state.js'

/**
 * After `states` committed to QUEUE_TOKEN in `epoch`: their tokens' hashes lose
 * the unmirrored mark (mark-durable-1.lua), unless changed again since. WAITING
 * states have no hash (a join is durable before it is answered) and are skipped.
 */
export async function markDurable(
  redis: RedisClient,
  k: EventKeys,
  epoch: number,
  states: readonly TokenState[],
): Promise<void> {
  const pairs: Array<string | number> = []
  for (const state of states) if (state.status !== 'WAITING') pairs.push(state.token, state.version)
  if (pairs.length > 0) await redis.queueMarkDurable(k.marker, epoch, k.tokenKeyBase, ...pairs)
}

/**
 * Joins (new tickets, and repeat joins, which read their row before writing it) and
 * changes of written tickets (an admission, expiry or leave told before the mirror
 * wrote it) commit apart. A change writes a row someone else may hold: the pre-queue
 * draw holds every drawn fan's row until it commits (~2.5 s per 100,000 fans), and a
 * fan who leaves during it must not hold back the joins arriving at the opening.
 */
export type Lane = 'joins' | 'changes'

/** One caller waiting for a write. */
interface Waiter {
  /** Answered (committed, refused or timed out): later outcomes are ignored. */
  settled: boolean
  resolve: () => void
  reject: (error: unknown) => void
}

/** A state waiting to be written, and everyone who asked for it. */
interface Pending {
  /** Its key in queuedWrites: lane, epoch, token, version. */
  write: string
  eventId: number
  epoch: number
  state: TokenState
  /** The ticket's mirror stream entry, deleted once this write has committed (the mirror need not repeat it). */
  entry: string | undefined
  /** Possibly written already (a repeat join): looked up first, without a row lock. */
  mayBeWritten: boolean
  waiters: Waiter[]
}

export interface DurableTicketsOptions {
  db: Kysely<Database>
  /** Where the mirror streams live: with both, a committed ticket's stream entry is deleted. */
  redis?: RedisClient
  prefix?: string
  /** Most tickets one transaction writes. */
  maxBatch?: number
  /** Transactions in flight at once, each of another event or lane (each holds one pool connection). */
  maxInFlight?: number
  /** A join waits at most this long for MySQL, then answers 503 (its ticket may still commit). */
  timeoutMs?: number
}

const timedOut = () =>
  new AppError('SERVICE_UNAVAILABLE', 'the queue cannot record this right now, retry shortly', {
    retryAfter: 2,
  })

/**
 * The promise "an acknowledged place is never lost": a join is answered only
 * once its ticket's QUEUE_TOKEN row has committed, so a Redis loss at any
 * moment after the answer rebuilds it. The same holds for every later state a
 * fan is told (admitted, expired, left): QueueService makes a state the mirror
 * has not written yet durable here before answering with it. Concurrent joins share transactions
 * (group commit): the cost is a few milliseconds of latency, not throughput.
 * A ticket read from Redis in an epoch that has since ended (Redis lost its
 * data and the queue was rebuilt while this join ran) is refused with 503:
 * that ticket is gone, and the fan simply joins again.
 *
 * Per join the work is a queue entry and one promise: the joins that arrive in
 * one event-loop turn share one timeout timer, and a batch's transaction is one
 * multi-row write of one event. One transaction per event and lane (Lane) at a
 * time: the joins arriving meanwhile wait for the next, so under load the batches grow instead of
 * the transactions multiplying (four in flight for one event cost the gateway
 * ~10 % more CPU and MariaDB ~35 % more per join, for ~7 % fewer joins/s, in three
 * interleaved pairs of `pnpm bench`'s joins phase). Up to `maxInFlight` such
 * transactions run at once, so one event whose writes wait (a rebuild holding its
 * epoch row) holds back no other, and a change waiting for its row no join.
 */
export class DurableTickets {
  /** Writes waiting for a transaction, by event and lane (`<eventId>:<lane>`). */
  private readonly queues = new Map<string, Pending[]>()
  /**
   * The same writes by lane, epoch, token and version: a state asked for again while it
   * waits (a repeat join, polls of one admission, retries every Retry-After while MySQL
   * stalls) joins the write already queued instead of queueing a copy, so what waits is
   * bounded by the tickets, not by the requests.
   */
  private readonly queuedWrites = new Map<string, Pending>()
  /** Lanes of events with a transaction in flight. */
  private readonly writing = new Set<string>()
  /** The callers of the current turn, who share one timeout timer. */
  private arrivals: Waiter[] | undefined
  private inFlight = 0
  private scheduled = false
  private readonly maxBatch: number
  private readonly maxInFlight: number
  private readonly timeoutMs: number

  constructor(private readonly options: DurableTicketsOptions) {
    this.maxBatch = options.maxBatch ?? 1_000
    this.maxInFlight = options.maxInFlight ?? 4
    this.timeoutMs = options.timeoutMs ?? 3_000
  }

  /**
   * Resolves once `state` (read from Redis in `epoch`) is committed to QUEUE_TOKEN.
   * `entry`: the state's mirror stream entry, which the mirror then need not write again.
   * `lane`: `changes` for a later state of a ticket already written (see Lane).
   */
  persist(
    eventId: number,
    epoch: number,
    state: TokenState,
    {
      entry,
      mayBeWritten = false,
      lane = 'joins',
    }: { entry?: string | undefined; mayBeWritten?: boolean; lane?: Lane } = {},
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { settled: false, resolve, reject }
      const write = `${lane}:${epoch}:${state.token}:${state.version}`
      const queued = this.queuedWrites.get(write)
      if (queued) {
        queued.waiters.push(waiter)
        // Written without a look first if any asker knows it is not written yet.
        queued.mayBeWritten &&= mayBeWritten
        queued.entry ??= entry
      } else {
        const item: Pending = { write, eventId, epoch, state, entry, mayBeWritten, waiters: [waiter] }
        this.queuedWrites.set(write, item)
        const key = `${eventId}:${lane}`
        const queue = this.queues.get(key)
        if (queue) queue.push(item)
        else this.queues.set(key, [item])
      }
      this.arrive(waiter)
      this.schedule()
    })
  }

  /** Writes waiting for a transaction (each once, however many asked for it). */
  get queued(): number {
    let writes = 0
    for (const queue of this.queues.values()) writes += queue.length
    return writes
  }

  /** Starts the timeout of this turn's callers with the first of them (a few ms early at worst). */
  private arrive(waiter: Waiter): void {
    if (this.arrivals) {
      this.arrivals.push(waiter)
      return
    }
    const arrivals = [waiter]
    this.arrivals = arrivals
    setImmediate(() => {
      if (this.arrivals === arrivals) this.arrivals = undefined
    })
    setTimeout(() => {
      for (const pending of arrivals) if (!pending.settled) settle(pending, timedOut())
    }, this.timeoutMs)
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queues.size === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      for (const [key, queue] of this.queues) {
        if (this.inFlight >= this.maxInFlight) break
        if (this.writing.has(key)) continue
        // Joins that timed out while they queued are still written: their tickets are live in Redis.
        const batch = queue.splice(0, this.maxBatch)
        // From here on, a state asked for again queues a write of its own (this one may fail).
        for (const item of batch) this.queuedWrites.delete(item.write)
        // Re-queued at the back when more are left, so events take turns.
        this.queues.delete(key)
        if (queue.length > 0) this.queues.set(key, queue)
        this.writing.add(key)
        this.inFlight += 1
        void this.flush((batch[0] as Pending).eventId, batch).finally(() => {
          this.writing.delete(key)
          this.inFlight -= 1
          this.schedule()
        })
      }
    })
  }

  /**
   * Deletes the stream entries of tickets just committed: the mirror would only write
   * the same rows again (half the MySQL writes of a join burst), and the backlog bound
   * counts only what Redis alone holds. Best effort: an entry left (Redis busy or gone)
   * is written by the mirror again, harmlessly (same version).
   */
  private async dropMirrored(eventId: number, items: readonly Pending[]): Promise<void> {
    const { redis, prefix } = this.options
    const ids = items.flatMap((item) => (item.entry ? [item.entry] : []))
    if (!redis || prefix === undefined || ids.length === 0) return
    await redis.xdel(eventKeys(prefix, eventId).stream, ...ids).catch(() => undefined)
  }

  /**
   * One transaction for the event's batch; a row MySQL refuses is answered with its error
   * and the rest committed apart (writeApart).
   */
  private async flush(eventId: number, items: Pending[]): Promise<void> {
    try {
      const refused = await writeApart(
        items,
        (part) => this.commit(eventId, part),
        (part, epoch) => this.answer(eventId, part, epoch),
      )
      for (const { item, error } of refused) settleAll(item, error)
    } catch (error) {
      // Those whose part committed were answered already (settle answers once).
      for (const item of items) settleAll(item, error)
    }
  }

  /** Writes the items read in the event's current epoch; returns that epoch. */
  private commit(eventId: number, items: readonly Pending[]): Promise<number> {
    return writeInCurrentEpoch(this.options.db, eventId, async (trx, epoch) => {
      const current = items.filter((item) => item.epoch === epoch)
      // A repeat join's ticket is mostly written: writing it again would take its row
      // lock, and wait for whoever holds it (the pre-queue draw, at the opening).
      const repeated = await notYetWritten(
        trx,
        current.filter((item) => item.mayBeWritten).map((item) => item.state),
      )
      return [...current.filter((item) => !item.mayBeWritten).map((item) => item.state), ...repeated]
    })
  }

  /** Answers the items of a part that committed in `epoch`. */
  private answer(eventId: number, items: readonly Pending[], epoch: number): void {
    for (const item of items) {
      if (item.epoch === epoch) settleAll(item)
      else
        settleAll(
          item,
          new AppError('SERVICE_UNAVAILABLE', 'the queue was being restored meanwhile; retry shortly', {
            retryAfter: 1,
          }),
        )
    }
    // After the answers, and not awaited: a slow Redis must not hold a commit slot.
    void this.dropMirrored(
      eventId,
      items.filter((item) => item.epoch === epoch),
    )
  }
}

/** Answers a caller once: committed (no error) or refused. */
function settle(waiter: Waiter, error?: unknown): void {
  if (waiter.settled) return
  waiter.settled = true
  if (error === undefined) waiter.resolve()
  else waiter.reject(error)
}

/** Answers everyone who asked for this write. */
function settleAll(item: Pending, error?: unknown): void {
  for (const waiter of item.waiters) settle(waiter, error)
}
