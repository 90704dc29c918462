import type { DbExecutor } from '@concert/db'
import type { TokenState } from '@concert/queue'

/**
 * Inside the payment transaction: locks the token's QUEUE_TOKEN row and tells
 * whether it already paid. The Redis claim stops parallel payments; this row
 * is the durable backstop if Redis state was lost or a claim outlived its owner.
 */
export async function tokenAlreadyPaid(db: DbExecutor, token: string): Promise<boolean> {
  const row = await db
    .selectFrom('QUEUE_TOKEN')
    .select('reason')
    .where('token', '=', token)
    .forUpdate()
    .executeTakeFirst()
  return row?.reason === 'COMPLETED'
}

/**
 * Writes the token as EXPIRED (COMPLETED) in the payment's transaction. The
 * version is the one the Redis `complete` script will give it, so the mirror's
 * later copy of the same change is a no-op, whichever lands first.
 */
export async function markTokenCompleted(
  db: DbExecutor,
  state: TokenState,
  completedAt: Date,
): Promise<void> {
  const row = {
    token: state.token,
    account_id: state.accountId,
    event_id: state.eventId,
    position: state.place,
    status: 'EXPIRED' as const,
    reason: 'COMPLETED' as const,
    issued_at: new Date(state.issuedAt),
    ready_at: state.readyAt === null ? null : new Date(state.readyAt),
    expires_at: completedAt,
    version: state.version + 1,
  }
  await db
    .insertInto('QUEUE_TOKEN')
    .values(row)
    .onDuplicateKeyUpdate({
      status: row.status,
      reason: row.reason,
      ready_at: row.ready_at,
      expires_at: row.expires_at,
      version: row.version,
    })
    .execute()
}
