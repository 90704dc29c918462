import { SseLeases, type SseLeasesOptions } from '@concert/queue'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    sseLeases: SseLeases
  }
}

/** `app.sseLeases`: the places of open SSE streams, capped per token and per client address over the cluster. */
export const sseLeasesPlugin = fp<SseLeasesOptions>(
  async (app, options) => {
    const leases = new SseLeases(app.redis, options, app.log)
    app.decorate('sseLeases', leases)
    // Before the Redis client quits: releases of the streams ended at shutdown still reach Redis.
    app.addHook('onClose', () => leases.close())
  },
  { name: 'sse-leases', dependencies: ['redis'] },
)
