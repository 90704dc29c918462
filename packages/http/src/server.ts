import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'

/** How long in-flight requests, SSE streams and pool drains get on shutdown before the process exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000

/**
 * Listens, and closes the app gracefully on SIGTERM/SIGINT (in-flight requests finish,
 * SSE streams end, the mirror drains, pools close) and on an uncaught exception or
 * unhandled rejection, which are logged first and exit 1. A second signal, or a close
 * that takes longer than 10 s, exits at once (close-with-grace).
 */
export async function runServer(app: FastifyInstance, port: number, host: string): Promise<void> {
  closeWithGrace(
    { delay: SHUTDOWN_GRACE_MS, logger: { error: (message: unknown) => app.log.error(String(message)) } },
    async ({ signal, err }) => {
      if (err) app.log.fatal({ err }, 'uncaught error, shutting down')
      else app.log.info({ signal }, 'shutting down')
      await app.close()
    },
  )
  await app.listen({ port, host })
}
