import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { newestPerToken } from './mirror.js'
import { holdEpoch } from './queue-epochs.repository.js'
import { retryTokenWrite, writeTokenStates } from './queue-tokens.repository.js'
import type { TokenState } from './token-state.js'

interface Pending {
  eventId: number
  epoch: number
  state: TokenState
  resolve: () => void
  reject: (error: unknown) => void
}

export interface DurableTicketsOptions {
  db: Kysely<Database>
  /** Most tickets one transaction writes. */
  maxBatch?: number
  /** Transactions in flight at once (each holds one pool connection). */
  maxInFlight?: number
  /** A join waits at most this long for MySQL, then answers 503 (its ticket may still commit). */
  timeoutMs?: number
}

/**
 * The promise "an acknowledged place is never lost": a join is answered only
 * once its ticket's QUEUE_TOKEN row has committed, so a Redis loss at any
 * moment after the answer rebuilds it. Concurrent joins share transactions
 * (group commit): the cost is a few milliseconds of latency, not throughput.
 * A ticket read from Redis in an epoch that has since ended (Redis lost its
 * data and the queue was rebuilt while this join ran) is refused with 503:
 * that ticket is gone, and the fan simply joins again.
 */
export class DurableTickets {
  private queue: Pending[] = []
  private inFlight = 0
  private scheduled = false
  private readonly maxBatch: number
  private readonly maxInFlight: number
  private readonly timeoutMs: number

  constructor(private readonly options: DurableTicketsOptions) {
    this.maxBatch = options.maxBatch ?? 1_000
    this.maxInFlight = options.maxInFlight ?? 2
    this.timeoutMs = options.timeoutMs ?? 3_000
  }

  /** Resolves once `state` (read from Redis in `epoch`) is committed to QUEUE_TOKEN. */
  persist(eventId: number, epoch: number, state: TokenState): Promise<void> {
    const committed = new Promise<void>((resolve, reject) => {
      this.queue.push({ eventId, epoch, state, resolve, reject })
    })
    this.schedule()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError('SERVICE_UNAVAILABLE', 'the queue cannot record new places right now', {
              retryAfter: 2,
            }),
          ),
        this.timeoutMs,
      )
    })
    return Promise.race([committed, timeout]).finally(() => clearTimeout(timer))
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      const batch = this.queue.splice(0, this.maxBatch)
      if (batch.length === 0) return
      this.inFlight += 1
      void this.flush(batch).finally(() => {
        this.inFlight -= 1
        this.schedule()
      })
      this.schedule()
    })
  }

  private async flush(batch: Pending[]): Promise<void> {
    const byEvent = new Map<number, Pending[]>()
    for (const item of batch) byEvent.set(item.eventId, [...(byEvent.get(item.eventId) ?? []), item])
    for (const [eventId, items] of byEvent) {
      try {
        const current = await retryTokenWrite(() =>
          this.options.db
            .transaction()
            .setIsolationLevel('read committed')
            .execute(async (trx) => {
              const epoch = await holdEpoch(trx, eventId)
              const states = items.filter((item) => item.epoch === epoch).map((item) => item.state)
              await writeTokenStates(trx, eventId, newestPerToken(states))
              return epoch
            }),
        )
        for (const item of items) {
          if (item.epoch === current) item.resolve()
          else
            item.reject(
              new AppError('SERVICE_UNAVAILABLE', 'the queue was restored while you joined; join again', {
                retryAfter: 1,
              }),
            )
        }
      } catch (error) {
        for (const item of items) item.reject(error)
      }
    }
  }
}
