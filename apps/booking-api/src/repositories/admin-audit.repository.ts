import type { Database } from '@concert/db'
import type { Transaction } from 'kysely'

/** Who did what: one admin write as ADMIN_AUDIT records it. */
export interface AuditEntry {
  /** Short hash prefix of the admin key, never the key. */
  keyId: string
  method: string
  /** Route pattern, e.g. '/v1/admin/events/:eventId'. */
  route: string
  /** The request body as the route accepted it; null when it had none. */
  body: unknown
}

/**
 * Takes the write's own transaction: the audit row commits with the change or
 * not at all, so a refused or failed write leaves no row.
 */
export async function insertAudit(
  trx: Transaction<Database>,
  entry: AuditEntry,
  targetId: number | null,
): Promise<void> {
  await trx
    .insertInto('ADMIN_AUDIT')
    .values({
      key_id: entry.keyId,
      method: entry.method,
      route: entry.route,
      target_id: targetId,
      body: entry.body === undefined || entry.body === null ? null : JSON.stringify(entry.body),
    })
    .execute()
}
