import type { Database, QueueToken } from '@concert/db'
import { eventKeys, type TokenState } from '@concert/queue'
import { readTokenStates } from '@concert/queue/testing'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'

/*
 * Read-only views of one event's queue in both stores, for the fault tests:
 * what Redis holds, what QUEUE_TOKEN holds, and where they disagree.
 */

/** Every token of the event in Redis (WAITING, READY and retained EXPIRED ones). */
export function redisTokens(redis: Redis, prefix: string, eventId: number): Promise<TokenState[]> {
  return readTokenStates(redis, eventKeys(prefix, eventId))
}

export function tokenRows(db: Kysely<Database>, eventId: number): Promise<QueueToken[]> {
  return db.selectFrom('QUEUE_TOKEN').selectAll().where('event_id', '=', eventId).execute()
}

const isLive = (status: string) => status === 'WAITING' || status === 'READY'

/** Accounts holding more than one live (WAITING or READY) token, with those tokens. */
export function accountsWithTwoLiveTokens(
  tokens: Array<{ accountId: string; token: string; status: string }>,
): Record<string, string[]> {
  const live = new Map<string, string[]>()
  for (const t of tokens) {
    if (isLive(t.status)) live.set(t.accountId, [...(live.get(t.accountId) ?? []), t.token])
  }
  return Object.fromEntries([...live].filter(([, held]) => held.length > 1))
}

/** The mirrored fields of a token, in one shape for both stores. */
function mirrored(state: TokenState) {
  return {
    accountId: state.accountId,
    status: state.status,
    reason: state.reason,
    position: state.place,
    issuedAt: state.issuedAt,
    readyAt: state.readyAt,
    expiresAt: state.expiresAt,
    version: state.version,
  }
}

/**
 * Where QUEUE_TOKEN and Redis disagree: tokens only in one store, and tokens
 * whose row differs from the hash. Empty when the mirror is exact.
 */
export function mirrorDifferences(redis: TokenState[], rows: QueueToken[]): string[] {
  const differences: string[] = []
  const byToken = new Map(rows.map((row) => [row.token, row]))
  for (const state of redis) {
    const row = byToken.get(state.token)
    if (!row) {
      differences.push(`${state.token}: in Redis (${state.status} v${state.version}), no QUEUE_TOKEN row`)
      continue
    }
    byToken.delete(state.token)
    const fromRow = mirrored({
      token: row.token,
      accountId: row.account_id,
      eventId: row.event_id,
      place: row.position,
      status: row.status,
      reason: row.reason,
      issuedAt: row.issued_at.getTime(),
      readyAt: row.ready_at?.getTime() ?? null,
      expiresAt: row.expires_at?.getTime() ?? null,
      version: row.version,
    })
    const fromRedis = mirrored(state)
    if (JSON.stringify(fromRow) !== JSON.stringify(fromRedis)) {
      differences.push(`${state.token}: row ${JSON.stringify(fromRow)} ≠ Redis ${JSON.stringify(fromRedis)}`)
    }
  }
  for (const row of byToken.values()) {
    differences.push(`${row.token}: QUEUE_TOKEN row (${row.status} v${row.version}), not in Redis`)
  }
  return differences
}
