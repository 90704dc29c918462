import { tracingChannel } from 'node:diagnostics_channel'
import { createRedisClient, type RedisClient } from '@concert/queue'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Histogram } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
  }
}

export interface RedisPluginOptions {
  url: string
  /** `url` is a seed node of a Redis Cluster. */
  cluster?: boolean
  /** See createRedis (REDIS_TIMEOUT_MS). */
  timeoutMs?: number
}

/**
 * Builds the ioredis client (standalone or Cluster) the app uses.
 * The offline queue is off: while Redis is away requests fail fast with 503
 * instead of piling up in memory until a flash crowd exhausts the heap.
 *
 * A connection that went silent without closing (Redis frozen, or a link cut without a
 * reset, as a partition or a dead host leaves it) would otherwise hold every command sent
 * on it, and so every request and loop tick waiting for one, until TCP gives up: minutes
 * with data in flight, two hours by the default keep-alive without. `timeoutMs` bounds
 * both halves of that: a command not answered within it fails (ioredis' commandTimeout:
 * 503 for the request waiting on it, and a loop tries again at its next tick), and a
 * connection with commands waiting that receives nothing for that long is destroyed and
 * made again (socketTimeout). Dropping the connection alone would not do: ioredis keeps
 * the commands that were in flight on it to send again once a new connection is ready,
 * which a silent server never lets happen. It must exceed the longest script Redis may
 * run, with what queues behind it (10 s by default, against milliseconds for ours).
 *
 * Not auto-pipelined, on purpose. ioredis' auto-pipelining (the commands of one turn of
 * the event loop in one write) saved CPU in `pnpm bench` (per new join 17 % of the
 * gateway's, 16 % of Redis', 38 % of MariaDB's; a third of Redis' per hot-seat loser), but
 * ioredis keeps one such batch on the wire per Redis node: a command issued while a batch
 * is out is not sent until that whole batch has been answered and its replies read, so
 * it waits behind any long script in it (a feed walk of 10,000 places, an admission
 * batch) and behind whatever keeps the event loop busy meanwhile. Sent at once, it waits
 * only in Redis. No target needed the CPU, and the bench could not settle the latency
 * cost (the 1M-waiter poll p99 moved between 1.2x and 2.3x of the 1k one with it and
 * without it, and 1.77x on the code before either, the same day). Excluding the bulk
 * scripts (autoPipeliningIgnoredCommands) and a longer comparison are the next step.
 */
export function createRedis({ url, cluster = false, timeoutMs = 10_000 }: RedisPluginOptions): RedisClient {
  return createRedisClient(url, {
    cluster,
    options: {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    },
  })
}

/** What ioredis publishes on its `ioredis:command` tracing channel, plus our start time. */
interface CommandTrace {
  command: string
  startedAt?: number
}

/**
 * `redis_command_duration_seconds`: every command's round trip, by command name, from
 * ioredis' own diagnostics_channel tracing (no wrapping of the client). The channel is
 * per process, so with several apps in one process (tests) each sees all their commands.
 */
function observeRedisLatency(app: FastifyInstance): void {
  const duration = new Histogram({
    name: 'redis_command_duration_seconds',
    help: 'Redis command round trips by command (Lua scripts run as evalsha)',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [app.metrics],
  })
  // One child series per command name (a handful), instead of hashing a label object per command.
  const byCommand = new Map<string, { observe(value: number): void }>()
  const channel = tracingChannel<string, CommandTrace>('ioredis:command')
  const handlers = {
    start(trace: CommandTrace) {
      trace.startedAt = performance.now()
    },
    asyncEnd(trace: CommandTrace) {
      if (trace.startedAt === undefined) return
      let series = byCommand.get(trace.command)
      if (!series) {
        series = duration.labels({ command: trace.command })
        byCommand.set(trace.command, series)
      }
      series.observe((performance.now() - trace.startedAt) / 1000)
    },
    end() {},
    asyncStart() {},
    error() {},
  }
  channel.subscribe(handlers)
  app.addHook('onClose', async () => {
    channel.unsubscribe(handlers)
  })
}

export const redisPlugin = fp<RedisPluginOptions>(
  async (app, options) => {
    observeRedisLatency(app)
    const redis = createRedis(options)
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
  { name: 'redis', dependencies: ['metrics'] },
)
