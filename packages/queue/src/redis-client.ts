import { Cluster, Redis, type RedisOptions } from 'ioredis'

/** A standalone Redis or a Redis Cluster: every queue script works on both (one hash tag per event). */
export type RedisClient = Redis | Cluster

export interface RedisClientOptions {
  /** Treat `url` as a seed node of a Redis Cluster. */
  cluster?: boolean
  options?: RedisOptions
}

export function createRedisClient(
  url: string,
  { cluster = false, options = {} }: RedisClientOptions = {},
): RedisClient {
  if (!cluster) return new Redis(url, options)
  const seed = new URL(url)
  const { enableOfflineQueue, lazyConnect, retryStrategy: _nodeRetry, ...nodeOptions } = options
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    redisOptions: {
      ...nodeOptions,
      username: seed.username ? decodeURIComponent(seed.username) : undefined,
      password: seed.password ? decodeURIComponent(seed.password) : undefined,
      tls: seed.protocol === 'rediss:' ? {} : undefined,
    },
  })
}
