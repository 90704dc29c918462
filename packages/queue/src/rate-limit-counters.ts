import type { RedisClient } from './redis-client.js'
import { defineQueueCommands } from './scripts.js'
import { TurnBatches } from './turn-batches.js'

/** A request's place in its client's window, as @fastify/rate-limit's stores answer it. */
export interface RateLimitCount {
  /** Requests of the window so far, this one included. */
  current: number
  /** Milliseconds left in the window. */
  ttl: number
}

interface Request {
  counter: string
  windowMs: number
}

/** Requests of one counter in one turn; a bigger burst takes a script per this many. */
const BATCH_MAX = 1_000

/**
 * Fixed-window request counters in Redis, shared by every gateway copy (rate-limit-1.lua).
 *
 * The requests of one counter that arrive in one turn of the event loop are counted by
 * one script that adds them all (TurnBatches). A burst of joins from one address (the
 * common case behind a NAT or a proxy) cost one script and one socket write per join
 * before, on top of the join's own. Each request still gets a count of its own, in
 * arrival order (the script's total less the requests after it in the batch), so the
 * first `max` of a window pass and no more, on one copy or across several.
 */
export class RateLimitCounters {
  private readonly batches: TurnBatches<Request, RateLimitCount>

  constructor(redis: RedisClient) {
    defineQueueCommands(redis)
    this.batches = new TurnBatches(async (requests) => {
      const { counter, windowMs } = requests[0] as Request
      const [total, ttl] = await redis.queueRateLimit(counter, windowMs, requests.length)
      const before = Number(total) - requests.length
      return requests.map((_, i) => ({ current: before + i + 1, ttl: Number(ttl) }))
    }, BATCH_MAX)
  }

  /** Counts one request on `counter`, whose window is `windowMs` long. */
  count(counter: string, windowMs: number): Promise<RateLimitCount> {
    return this.batches.add(`${windowMs}:${counter}`, { counter, windowMs })
  }
}
