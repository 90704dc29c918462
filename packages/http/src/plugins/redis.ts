import { createRedisClient, type RedisClient } from '@concert/queue'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
  }
}

export interface RedisPluginOptions {
  url: string
  /** `url` is a seed node of a Redis Cluster. */
  cluster?: boolean
}

/**
 * Builds the ioredis client (standalone or Cluster) the app uses.
 * The offline queue is off: while Redis is away requests fail fast with 503
 * instead of piling up in memory until a flash crowd exhausts the heap.
 */
export function createRedis(url: string, cluster = false): RedisClient {
  return createRedisClient(url, {
    cluster,
    options: {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    },
  })
}

export const redisPlugin = fp<RedisPluginOptions>(
  async (app, options) => {
    const redis = createRedis(options.url, options.cluster)
    // ioredis emits 'error' on every failed reconnect; log once per state change instead of crashing.
    let healthy = true
    redis.on('error', (error: unknown) => {
      if (healthy) app.log.warn({ err: error }, 'redis connection error')
      healthy = false
    })
    redis.on('ready', () => {
      healthy = true
    })
    // A failed first connect is not fatal: the app still starts, reports Redis on
    // /health/ready, and ioredis keeps reconnecting in the background.
    await redis
      .connect()
      .catch((error: unknown) => app.log.warn({ err: error }, 'redis not reachable at startup'))
    app.decorate<RedisClient>('redis', redis)
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'redis' },
)
