import type { FastifyInstance } from 'fastify'

/**
 * Listens, and closes the app on SIGTERM/SIGINT so in-flight requests finish,
 * SSE streams end and pools drain. A second signal forces the exit.
 */
export async function runServer(app: FastifyInstance, port: number, host: string): Promise<void> {
  let closing = false
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal, exiting now')
      process.exit(1)
    }
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 10s, exiting')
      process.exit(1)
    }, 10_000)
    force.unref()
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  await app.listen({ port, host })
}
