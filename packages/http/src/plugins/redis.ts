import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

export interface RedisPluginOptions {
  url: string
}

/**
 * Builds the ioredis client the app uses for everything but blocking reads.
 * The offline queue is off: while Redis is away requests fail fast with 503
 * instead of piling up in memory until a flash crowd exhausts the heap.
 */
export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  })
  return redis
}

export const redisPlugin = fp<RedisPluginOptions>(
  async (app, options) => {
    const redis = createRedis(options.url)
    // ioredis emits 'error' on every failed reconnect; log once per state change instead of crashing.
    let healthy = true
    redis.on('error', (error) => {
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
    app.decorate('redis', redis)
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'redis' },
)
