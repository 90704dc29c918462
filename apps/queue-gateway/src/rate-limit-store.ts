import { RateLimitCounters, type RedisClient } from '@concert/queue'
import type { FastifyRateLimitStoreCtor, RateLimitOptions } from '@fastify/rate-limit'

/**
 * @fastify/rate-limit's store over RateLimitCounters: the plugin's own Redis store runs
 * one script per request; this one counts a turn's requests of one client in one
 * (rate-limit-counters.ts), with the same answers. Counter names follow the plugin's
 * Redis store: the namespace, then per limited route its method and URL, then the
 * client's key.
 */
export function batchedRateLimitStore(redis: RedisClient, nameSpace: string): FastifyRateLimitStoreCtor {
  const counters = new RateLimitCounters(redis)

  class BatchedStore {
    constructor(
      options: RateLimitOptions,
      private readonly prefix = nameSpace,
    ) {
      // rate-limit-1.lua keeps a fixed window: it cannot do what these ask for.
      if (options.continueExceeding || options.exponentialBackoff) {
        throw new Error('batchedRateLimitStore: continueExceeding and exponentialBackoff are not supported')
      }
    }

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      counters.count(this.prefix + key, timeWindow).then(
        (count) => callback(null, count),
        (error: Error) => callback(error),
      )
    }

    child(routeOptions: RateLimitOptions & { routeInfo: { method: string; url: string } }): BatchedStore {
      return new BatchedStore(
        routeOptions,
        `${this.prefix}${routeOptions.routeInfo.method}${routeOptions.routeInfo.url}-`,
      )
    }
  }
  return BatchedStore as unknown as FastifyRateLimitStoreCtor
}
