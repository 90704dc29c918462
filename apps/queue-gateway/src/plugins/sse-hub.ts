import fp from 'fastify-plugin'
import { SseHub } from '../sse.js'

/** The SSE route (routes/tokens.ts), as its latency series names it. */
export const STREAM_ROUTE = '/v1/queue/tokens/:token/stream'

declare module 'fastify' {
  interface FastifyInstance {
    sseHub: SseHub
  }
}

/** `app.sseHub`: this copy's open SSE streams, fed by one read per event per tick, and its polls, answered from the same feeds. */
export const sseHubPlugin = fp<{ tickMs: number }>(
  async (app, options) => {
    const hub = new SseHub(app.queue, app.log, options.tickMs, (stream) => {
      // What Fastify's onResponse would have done, had the route not let go of the request
      // (routes/tokens.ts): the request's closing log line and its latency series.
      const seconds = (performance.now() - stream.startedAt) / 1000
      app.observeRequest('GET', STREAM_ROUTE, 200, seconds)
      app.log.info(
        { reqId: stream.requestId, res: { statusCode: 200 }, responseTime: seconds * 1000 },
        'request completed',
      )
    })
    app.decorate('sseHub', hub)
    // preClose, not onClose: streams must end before the server waits for its connections.
    app.addHook('preClose', () => hub.close())
  },
  { name: 'sse-hub', dependencies: ['queue', 'metrics'] },
)
