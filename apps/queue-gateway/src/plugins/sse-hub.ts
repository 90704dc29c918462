import fp from 'fastify-plugin'
import { SseHub } from '../sse.js'

declare module 'fastify' {
  interface FastifyInstance {
    sseHub: SseHub
  }
}

/** `app.sseHub`: this copy's open SSE streams, fed by one read per event per tick. */
export const sseHubPlugin = fp<{ tickMs: number }>(
  async (app, options) => {
    const hub = new SseHub(app.queue, app.log, options.tickMs)
    app.decorate('sseHub', hub)
    // preClose, not onClose: streams must end before the server waits for its connections.
    app.addHook('preClose', () => hub.close())
  },
  { name: 'sse-hub', dependencies: ['queue'] },
)
