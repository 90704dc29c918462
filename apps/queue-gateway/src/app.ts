import { type App, createBaseApp, queueServicePlugin } from '@concert/http'
import { rateLimitPrefix } from '@concert/queue'
import { AppError } from '@concert/shared'
import rateLimit from '@fastify/rate-limit'
import type { FastifyServerOptions } from 'fastify'
import type { GatewayConfig } from './config.js'
import { existenceCachesPlugin } from './plugins/existence-caches.js'
import { gatewayMetricsPlugin } from './plugins/gateway-metrics.js'
import { mirrorWorkerPlugin } from './plugins/mirror-worker.js'
import { sseHubPlugin } from './plugins/sse-hub.js'
import { sseLeasesPlugin } from './plugins/sse-leases.js'
import { webAppPlugin } from './plugins/web-app.js'
import { workersPlugin } from './plugins/workers.js'
import { batchedRateLimitStore } from './rate-limit-store.js'
import { tokenRoutes } from './routes/tokens.js'

export interface GatewayAppOptions {
  config: GatewayConfig
  logger?: FastifyServerOptions['logger']
  /** Run the admission, mirror and event-refresh loops (default true). */
  workers?: boolean
}

/** The queue gateway as a plugin-composed Fastify app; tests build it, server.ts listens. */
export async function buildGatewayApp({ config, logger, workers = true }: GatewayAppOptions): Promise<App> {
  const app = await createBaseApp({
    name: 'queue-gateway',
    title: 'Concert queue gateway',
    description: 'Issues queue tokens, reports positions and admits fans to the booking API.',
    tags: [{ name: 'queue', description: 'Join an event’s waiting queue, follow your place, leave' }],
    infra: config.infra,
    auth: config.auth,
    corsOrigins: config.http.corsOrigins,
    timeouts: config.http.timeouts,
    ops: config.ops,
    logger,
    trustProxy: config.trustProxy,
  })
  await app.register(rateLimit, {
    global: false,
    store: batchedRateLimitStore(app.redis, rateLimitPrefix(config.infra.redisKeyPrefix)),
    // If Redis is down the queue is down anyway; do not turn that into a 500 here.
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `too many token requests from this address, retry in ${context.after}`, {
        retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  })
  await app.register(queueServicePlugin, {
    prefix: config.infra.redisKeyPrefix,
    settings: config.queue,
    tuning: config.queueTuning,
  })
  await app.register(mirrorWorkerPlugin, { prefix: config.infra.redisKeyPrefix, tuning: config.queueTuning })
  await app.register(existenceCachesPlugin, {
    knownEvents: config.knownEvents,
    knownAccounts: config.knownAccounts,
  })
  await app.register(sseLeasesPlugin, {
    prefix: config.infra.redisKeyPrefix,
    perToken: config.sseStreamsPerToken,
    perClient: config.sseStreamsPerIp,
  })
  await app.register(sseHubPlugin, { tickMs: config.sseTickMs })
  await app.register(gatewayMetricsPlugin)
  if (workers) {
    await app.register(workersPlugin, {
      admitIntervalMs: config.admitIntervalMs,
      eventsRefreshMs: config.eventsRefreshMs,
      idleRecheckMs: config.idleRecheckMs,
    })
  }
  await app.register(tokenRoutes, {
    issueRateLimit: { max: config.issueRateLimitPerMinute, timeWindow: config.issueRateLimitWindowMs },
  })
  if (config.web) {
    await app.register(webAppPlugin, { ...config.web, accountAuth: config.auth.keys !== undefined })
  }
  return app
}
