import type { Generated, Insertable, Selectable } from 'kysely'

/**
 * ADMIN_AUDIT: one row per admin write, committed with the write itself, so a
 * change without its row (or a row without its change) cannot exist.
 */
export interface AdminAuditTable {
  id: Generated<number>
  /** Which admin key: a short prefix of its SHA-256, never the key. */
  key_id: string
  method: string
  /** The route pattern, e.g. '/v1/admin/events/:eventId'. */
  route: string
  /** The venue, event or schedule the write created or changed. */
  target_id: number | null
  /** The request body as JSON, as the route accepted it. */
  body: string | null
  created_at: Generated<Date>
}

export type AdminAudit = Selectable<AdminAuditTable>
export type NewAdminAudit = Insertable<AdminAuditTable>
