import type { DbExecutor } from '@concert/db'
import { eventOfToken, findCompletedToken, type QueueService } from '@concert/queue'
import type { FastifyBaseLogger } from 'fastify'

/** The claim owner the repair below presents: none, since the row's version lets it end any claim. */
const NO_CLAIM = ''

/**
 * A queue token that paid, by QUEUE_TOKEN, whatever Redis says of it. A payment's
 * transaction writes its token COMPLETED (SPEC §4), and Redis hears of it right after the
 * commit. When that step is lost (a COMMIT whose outcome could not be read, or a rebuild
 * from rows older than the payment), Redis keeps the token READY, and its window's end or
 * a leave then expire it TIMEOUT or LEFT, while MySQL says it paid. MySQL is the truth:
 * this reads the row and, when it says COMPLETED, brings Redis to it (EXPIRED, COMPLETED,
 * at the row's version and payment time, its READY slot freed), so the next request finds
 * the token as it is. Telling Redis is best effort: logged, not thrown.
 *
 * Read only where Redis's answer would refuse a request that a paid token may make (the
 * token guard's `acceptCompleted` routes) or after MySQL refused a payment as already paid.
 */
export async function paidByMysql(
  deps: { db: DbExecutor; queue: QueueService; log: FastifyBaseLogger },
  token: string,
): Promise<boolean> {
  const row = await findCompletedToken(deps.db, token)
  if (!row) return false
  try {
    await deps.queue.finishPurchase(token, NO_CLAIM, row.completedAt, undefined, undefined, row.version)
  } catch (error) {
    // Not the token itself: it is a bearer credential.
    deps.log.warn({ err: error, eventId: eventOfToken(token) }, 'could not end a paid token in Redis')
  }
  return true
}
