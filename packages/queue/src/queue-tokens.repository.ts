import type { Database, DbExecutor, NewQueueToken, QueueToken } from '@concert/db'
import { isDuplicateKey, isRetryableLockError, type Param, prepare } from '@concert/db'
import { type CompiledQuery, type Kysely, type QueryCreator, sql, type Transaction } from 'kysely'
import type { TokenState } from './token-state.js'

/*
 * QUEUE_TOKEN, the durable copy of the Redis queue. This module is the only
 * place that reads or writes the table: the mirror's upserts, recovery's reads,
 * the payment's paid check (tokenReasonQuery, a subquery of its one read), its
 * COMPLETED, the check whether a payment whose COMMIT went unanswered landed
 * (paymentCommitted) and the read of a paid token's row (findCompletedToken) all go through it.
 */

const date = (ms: number | null) => (ms === null ? null : new Date(ms))
const ms = (value: Date | null) => (value === null ? null : value.getTime())

export function toQueueTokenRow(state: TokenState): NewQueueToken & { version: number } {
  return {
    token: state.token,
    account_id: state.accountId,
    event_id: state.eventId,
    position: state.place,
    status: state.status,
    reason: state.reason,
    issued_at: new Date(state.issuedAt),
    ready_at: date(state.readyAt),
    expires_at: date(state.expiresAt),
    version: state.version,
  }
}

export function fromQueueTokenRow(row: QueueToken): TokenState {
  return {
    token: row.token,
    accountId: row.account_id,
    eventId: row.event_id,
    place: row.position,
    status: row.status,
    reason: row.reason,
    issuedAt: row.issued_at.getTime(),
    readyAt: ms(row.ready_at),
    expiresAt: ms(row.expires_at),
    version: row.version,
  }
}

/**
 * Version-guarded upsert: a row is only ever replaced by a newer state of the
 * same token, so batches may commit in any order, and a replayed batch (after
 * a crash between commit and acknowledgement) changes nothing. `version` is
 * assigned last because MySQL evaluates the assignments left to right.
 */
export async function upsertQueueTokens(db: DbExecutor, states: TokenState[]): Promise<void> {
  if (states.length === 0) return
  const newer = sql<boolean>`VALUES(version) > version`
  await db
    .insertInto('QUEUE_TOKEN')
    .values(states.map(toQueueTokenRow))
    .onDuplicateKeyUpdate({
      // The pre-queue draw changes places (draw-3.lua); nothing else does.
      position: sql`IF(${newer}, VALUES(position), position)`,
      status: sql`IF(${newer}, VALUES(status), status)`,
      reason: sql`IF(${newer}, VALUES(reason), reason)`,
      ready_at: sql`IF(${newer}, VALUES(ready_at), ready_at)`,
      expires_at: sql`IF(${newer}, VALUES(expires_at), expires_at)`,
      version: sql`GREATEST(version, VALUES(version))`,
    })
    .execute()
}

const isLive = (state: TokenState) => state.status === 'WAITING' || state.status === 'READY'

/**
 * Which of an account's tokens is newer: issued later (Redis clock), then the higher
 * place. Not the place alone, because the pre-queue draw reorders places.
 */
const newer = (a: { issuedAt: number; place: number }, b: { issuedAt: number; place: number }) =>
  a.issuedAt > b.issuedAt || (a.issuedAt === b.issuedAt && a.place > b.place)

/**
 * Of `states`, those QUEUE_TOKEN does not hold yet at their version, by a plain read
 * (no row lock, so it never waits for a writer holding the rows, such as the pre-queue
 * draw): a repeat join's ticket is mostly written already.
 */
export async function notYetWritten(db: DbExecutor, states: TokenState[]): Promise<TokenState[]> {
  if (states.length === 0) return states
  const rows = await db
    .selectFrom('QUEUE_TOKEN')
    .select(['token', 'version'])
    .where(
      'token',
      'in',
      states.map((state) => state.token),
    )
    .execute()
  const written = new Map(rows.map((row) => [row.token, row.version]))
  return states.filter((state) => (written.get(state.token) ?? 0) < state.version)
}

/** Keeps only each token's newest state; sorted by token so concurrent writers lock rows in one order. */
export function newestPerToken(states: TokenState[]): TokenState[] {
  const newest = new Map<string, TokenState>()
  for (const state of states) {
    const seen = newest.get(state.token)
    if (!seen || state.version > seen.version) newest.set(state.token, state)
  }
  return [...newest.values()].sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
}

/**
 * Writes Redis-read token states of one event (newest per token) so that the
 * table keeps at most one live token per (account, event), which its UNIQUE
 * key demands, whatever order writers commit in. Redis never holds two live
 * tokens of one account, so the account's newest live token (see `newer`) is its
 * real one: an older live row is marked EXPIRED here (its own expiry record, with a higher
 * version and the reason, lands later and completes it), and a live state older
 * than an existing live row is written as EXPIRED.
 * The rows of the accounts concerned are locked first (FOR UPDATE), so
 * concurrent writers serialise; two first inserts for one account still race
 * on the UNIQUE key, which `retryTokenWrite` resolves by running again.
 */
export async function writeTokenStates(
  trx: Transaction<Database>,
  eventId: number,
  states: TokenState[],
): Promise<void> {
  const winners = new Map<string, TokenState>()
  for (const state of states) {
    if (!isLive(state)) continue
    const seen = winners.get(state.accountId)
    if (!seen || newer(state, seen)) winners.set(state.accountId, state)
  }
  const demoted = new Set<string>()
  for (const state of states) {
    if (isLive(state) && winners.get(state.accountId) !== state) demoted.add(state.token)
  }
  if (winners.size > 0) {
    const existing = await trx
      .selectFrom('QUEUE_TOKEN')
      .select(['token', 'account_id', 'position', 'issued_at'])
      .where('event_id', '=', eventId)
      .where('live_account_id', 'in', [...winners.keys()])
      .forUpdate()
      .execute()
    const superseded: string[] = []
    for (const row of existing) {
      const winner = winners.get(row.account_id)
      if (!winner || winner.token === row.token) continue
      if (newer(winner, { issuedAt: row.issued_at.getTime(), place: row.position }))
        superseded.push(row.token)
      else demoted.add(winner.token)
    }
    if (superseded.length > 0) {
      await trx
        .updateTable('QUEUE_TOKEN')
        .set({ status: 'EXPIRED' })
        .where('token', 'in', superseded)
        .execute()
    }
  }
  await upsertQueueTokens(
    trx,
    states.map((state) => (demoted.has(state.token) ? { ...state, status: 'EXPIRED' as const } : state)),
  )
}

/**
 * Runs a token-writing transaction again when InnoDB undid it (deadlock, lock
 * wait timeout) or two writers inserted an account's first live row at once.
 */
export async function retryTokenWrite<T>(work: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= attempts || !(isRetryableLockError(error) || isDuplicateKey(error))) throw error
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10))
    }
  }
}

/** How many tokens an event issued and how they ended (QUEUE_TOKEN: countTokenOutcomes). */
export interface TokenTotals {
  joined: number
  completed: number
  abandoned: number
  timedOut: number
  left: number
}

/** How the event's tokens ended so far (QUEUE_TOKEN, so it survives Redis): for the operator's figures. */
export async function countTokenOutcomes(db: DbExecutor, eventId: number): Promise<TokenTotals> {
  const rows = await db
    .selectFrom('QUEUE_TOKEN')
    .select(['reason', sql<number>`COUNT(*)`.as('n')])
    .where('event_id', '=', eventId)
    .groupBy('reason')
    .execute()
  const by = new Map(rows.map((row) => [row.reason, Number(row.n)]))
  return {
    joined: rows.reduce((sum, row) => sum + Number(row.n), 0),
    completed: by.get('COMPLETED') ?? 0,
    abandoned: by.get('ABANDONED') ?? 0,
    timedOut: by.get('TIMEOUT') ?? 0,
    left: by.get('LEFT') ?? 0,
  }
}

/** What recovery rebuilds: live tokens and those EXPIRED since `expiredSince`, in place order. */
export async function findTokensToRestore(
  db: DbExecutor,
  eventId: number,
  expiredSince: Date,
): Promise<TokenState[]> {
  const rows = await db
    .selectFrom('QUEUE_TOKEN')
    .selectAll()
    .where('event_id', '=', eventId)
    .where((eb) => eb.or([eb('status', 'in', ['WAITING', 'READY']), eb('expires_at', '>=', expiredSince)]))
    .orderBy('position')
    .execute()
  return rows.map(fromQueueTokenRow)
}

/** The highest place ever handed out for the event (0 if none): the FIFO counter resumes above it. */
export async function highestPlace(db: DbExecutor, eventId: number): Promise<number> {
  const row = await db
    .selectFrom('QUEUE_TOKEN')
    .select(sql<number | null>`MAX(position)`.as('maxPlace'))
    .where('event_id', '=', eventId)
    .executeTakeFirst()
  return Number(row?.maxPlace ?? 0)
}

/** The highest provisional place handed out before the sale opened: the pre-queue's last. */
export async function highestPlaceIssuedBefore(
  db: DbExecutor,
  eventId: number,
  before: Date,
): Promise<number> {
  const row = await db
    .selectFrom('QUEUE_TOKEN')
    .select(sql<number | null>`MAX(position)`.as('maxPlace'))
    .where('event_id', '=', eventId)
    .where('issued_at', '<', before)
    .executeTakeFirst()
  return Number(row?.maxPlace ?? 0)
}

/** Places in QUEUE_TOKEN of these tokens (the drawn order, once recorded). */
export async function placesOf(db: DbExecutor, tokens: string[]): Promise<Map<string, number>> {
  const places = new Map<string, number>()
  for (let start = 0; start < tokens.length; start += 1_000) {
    const rows = await db
      .selectFrom('QUEUE_TOKEN')
      .select(['token', 'position'])
      .where('token', 'in', tokens.slice(start, start + 1_000))
      .execute()
    for (const row of rows) places.set(row.token, row.position)
  }
  return places
}

/** Inside the draw's transaction: gives each token its drawn place. */
export async function recordDrawnPlaces(
  trx: Transaction<Database>,
  places: Array<[string, number]>,
): Promise<void> {
  for (let start = 0; start < places.length; start += 1_000) {
    const chunk = places.slice(start, start + 1_000)
    const cases = sql.join(
      chunk.map(([token, place]) => sql`WHEN ${token} THEN ${place}`),
      sql` `,
    )
    await trx
      .updateTable('QUEUE_TOKEN')
      .set({ position: sql`CASE token ${cases} END` })
      .where(
        'token',
        'in',
        chunk.map(([token]) => token),
      )
      .execute()
  }
}

/**
 * The reason a token's QUEUE_TOKEN row gives (COMPLETED once it paid), as a subquery for
 * the payment's one read under the account lock (apps/booking-api payment-checks). The
 * Redis claim stops parallel payments; this row is the durable backstop if Redis state
 * was lost or a claim outlived its owner. No row lock is needed: every payment with a
 * token debits the token's account first, whose row lock holds until commit, so a
 * second payment with the token reads this row only after the first one committed
 * (READ COMMITTED reads the latest commit).
 */
export function tokenReasonQuery(db: Pick<QueryCreator<Database>, 'selectFrom'>, token: string) {
  return db.selectFrom('QUEUE_TOKEN').select('reason').where('token', '=', token)
}

const markCompletedStatement = prepare((db, p: Param<ReturnType<typeof toQueueTokenRow>>) =>
  db
    .insertInto('QUEUE_TOKEN')
    .values({
      token: p('token'),
      account_id: p('account_id'),
      event_id: p('event_id'),
      position: p('position'),
      status: p('status'),
      reason: p('reason'),
      issued_at: p('issued_at'),
      ready_at: p('ready_at'),
      expires_at: p('expires_at'),
      version: p('version'),
    })
    .onDuplicateKeyUpdate({
      status: p('status'),
      reason: p('reason'),
      ready_at: p('ready_at'),
      expires_at: p('expires_at'),
      version: sql`GREATEST(version, ${p('version')})`,
    }),
)

/**
 * The version a payment writes its token COMPLETED at: the claimed state's, bumped once,
 * as finish-purchase-9.lua's mirror() bumps it (it is told this version, and does not
 * mirror the change again when it lands on it).
 */
export const completedVersion = (claimed: TokenState): number => claimed.version + 1

/**
 * The statement of `markTokenCompleted` with its values (compiled once, prepare): the
 * bench's purchase floor runs it bare instead of writing QUEUE_TOKEN with SQL of its
 * own (this module stays the table's only writer, and the floor measures this very SQL).
 */
export function markTokenCompletedQuery(claimed: TokenState, completedAt: Date): CompiledQuery {
  return markCompletedStatement.compile(
    toQueueTokenRow({
      ...claimed,
      status: 'EXPIRED',
      reason: 'COMPLETED',
      expiresAt: completedAt.getTime(),
      version: completedVersion(claimed),
    }),
  )
}

/**
 * Writes the token as EXPIRED (COMPLETED) in the payment's transaction, at the
 * version Redis gives it in finish-purchase-9.lua (one mirror() bump, completedVersion).
 * Told that version, the script hands the mirror no copy of the change; when the token
 * changed while the payment ran, the mirror's record is newer and lands on top of it.
 * COMPLETED is final: it replaces whatever the row says (a DELETE that raced
 * the payment), never the other way round.
 */
export async function markTokenCompleted(
  trx: Transaction<Database>,
  claimed: TokenState,
  completedAt: Date,
): Promise<void> {
  await trx.executeQuery(markTokenCompletedQuery(claimed, completedAt))
}

/** How long paymentCommitted waits by default for a transaction still holding the row (seconds). */
const COMMIT_OUTCOME_WAIT_SECONDS = 5

/** A paid token's row as the two readers below want it: its version and payment time. */
interface CompletedToken {
  version: number
  completedAt: Date
}

/** The token's row if it says COMPLETED; `lock`: a locking read (LOCK IN SHARE MODE). */
async function readCompleted(
  db: DbExecutor,
  token: string,
  lock: boolean,
): Promise<CompletedToken | undefined> {
  const query = db
    .selectFrom('QUEUE_TOKEN')
    .select(['reason', 'version', 'expires_at'])
    .where('token', '=', token)
  const row = await (lock ? query.modifyEnd(sql`LOCK IN SHARE MODE`) : query).executeTakeFirst()
  if (row?.reason !== 'COMPLETED' || !row.expires_at) return undefined
  return { version: Number(row.version), completedAt: row.expires_at }
}

/**
 * Whether the payment that wrote its token COMPLETED at `completedAt` (markTokenCompleted)
 * committed: for a transaction whose COMMIT went unanswered (the connection dropped while
 * it ran), so the outcome is unknown. The row says COMPLETED at that payment's commit time
 * (to the millisecond) and at least its version only if that very transaction committed:
 * another attempt with the same token writes its own time, and a rollback writes nothing.
 * A locking read: while the server still works on that COMMIT, the transaction holds the
 * row (the COMPLETED upsert locked it), so the answer waits for its outcome, at most
 * `waitSeconds` (a server that never heard the client go keeps the lock until its own
 * timeouts): past that it throws, and the outcome stays unknown.
 */
export async function paymentCommitted(
  db: Kysely<Database>,
  claimed: TokenState,
  completedAt: Date,
  waitSeconds = COMMIT_OUTCOME_WAIT_SECONDS,
): Promise<boolean> {
  // The session's lock wait, set for this read only (portable to MySQL 8 and MariaDB),
  // and put back before the connection returns to the pool.
  const row = await db.connection().execute(async (conn) => {
    await sql`SET SESSION innodb_lock_wait_timeout = ${sql.lit(waitSeconds)}`.execute(conn)
    try {
      return await readCompleted(conn, claimed.token, true)
    } finally {
      await sql`SET SESSION innodb_lock_wait_timeout = DEFAULT`.execute(conn)
    }
  })
  return (
    row !== undefined &&
    row.version >= completedVersion(claimed) &&
    row.completedAt.getTime() === completedAt.getTime()
  )
}

/**
 * The version and the payment time of a token QUEUE_TOKEN says has paid (COMPLETED), or
 * undefined. For an attempt refused by the paid check while Redis still had the token
 * READY: Redis is brought to what MySQL says.
 */
export function findCompletedToken(db: DbExecutor, token: string): Promise<CompletedToken | undefined> {
  return readCompleted(db, token, false)
}
