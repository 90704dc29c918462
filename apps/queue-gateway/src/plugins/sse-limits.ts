import fp from 'fastify-plugin'
import { SseLimits, type SseLimitsOptions } from '../sse-limits.js'

declare module 'fastify' {
  interface FastifyInstance {
    sseLimits: SseLimits
  }
}

/** `app.sseLimits`: the cluster-wide cap on open SSE streams per token and per client address. */
export const sseLimitsPlugin = fp<SseLimitsOptions>(
  async (app, options) => {
    const limits = new SseLimits(app.redis, options, app.log)
    app.decorate('sseLimits', limits)
    // Before the Redis client quits: releases of the streams ended at shutdown still reach Redis.
    app.addHook('onClose', () => limits.close())
  },
  { name: 'sse-limits', dependencies: ['redis'] },
)
