/**
 * The purchase floor: what one reserve-and-pay costs the stores, with no HTTP and no
 * app code around it. Each purchase runs the purchase's own Redis calls bare with
 * ioredis (EVALSHA of packages/queue's Lua scripts, loaded with loadScripts) and its
 * own SQL statements bare with mysql2 (a pool of the booking API's DB_POOL_SIZE), at
 * the same concurrency as the HTTP phase. Self-contained on purpose: when the purchase
 * path changes, edit the list below and the two functions that follow it.
 *
 * What one POST /v1/reservations (one seat, no Idempotency-Key) runs today (after the
 * commit that folded the payment's three reads into payment-checks and started the
 * free-seat probe at the last free seat found), in order, and the code path each step
 * mirrors (apps/booking-api/src/…):
 *
 *     (the guard only reads the header; the schedule, the cached limits and mayBeForSale
 *     read the in-process caches: no query)
 *  R2 EVALSHA begin-purchase-4   reservation.service begin → QueueService.beginPurchase
 *                                (checks and claims the token, locks the seats: one script;
 *                                the app sends a turn's starts of one event in one script,
 *                                the floor each purchase's alone)
 *  S1 SELECT seat, number, price, limits FROM VENUE_SEAT JOIN SEAT_PRICE JOIN EVENT
 *                                catalog.service seatsForSale → catalog.repository findPricedSeats
 *  transaction (reservation.service pay, READ COMMITTED):
 *  S2 SET TRANSACTION ISOLATION LEVEL READ COMMITTED; S3 BEGIN      (Kysely's MysqlDriver)
 *  S4 UPDATE ACCOUNT SET amount = amount - ? … AND amount >= ?      accounts.repository deductFromBalance
 *  S5 SELECT (balance), (COUNT(*) of seats held), (QUEUE_TOKEN reason)   payment-checks readPaymentChecks
 *  S6 INSERT INTO RESERVATION; S7 UPDATE RESERVATION SET order_id   reservations.repository insertOrder
 *  S8 INSERT INTO BALANCE_HISTORY                                    balance-history.repository insertHistory
 *  S9 INSERT INTO QUEUE_TOKEN … ON DUPLICATE KEY UPDATE             queue-tokens.repository markTokenCompleted
 *  S10 COMMIT
 *  after commit (reservation.service afterCommit): S11, then R3:
 *  S11 SELECT the first free seat from the last one found (LIMIT 1; once more from the start
 *      when none)                                 sale.service afterSale → catalog.repository findFreeSeat
 *      (the sold-out recount runs only when the show has no free seat left: not in this phase)
 *  R3 EVALSHA finish-purchase-9  QueueService.finishPurchase (token COMPLETED, seats SOLD, locks gone,
 *                                the catalogue versions of the show and the event rewritten; told
 *                                the version S9 wrote, so the change is not mirrored again)
 *
 * S5, S9 and S11 are the app's own statements (paymentChecksQuery, markTokenCompletedQuery,
 * freeSeatQuery; compiled once by Kysely: prepare) run bare: packages/queue stays
 * QUEUE_TOKEN's only writer, and a change there reaches the floor. The other SQL text
 * is what Kysely compiles for those repository calls (copied from its query log), with
 * the same parameters.
 */
import { randomUUID } from 'node:crypto'
import { poolOptions } from '@concert/db'
import {
  catalogVersionsKey,
  completedVersion,
  eventKeys,
  loadScripts,
  markTokenCompletedQuery,
  pairs,
  type TokenState,
  toTokenState,
} from '@concert/queue'
import { Redis } from 'ioredis'
import type { CompiledQuery } from 'kysely'
import { createPool, type Pool, type PoolConnection } from 'mysql2/promise'
import { freeSeatQuery } from '../../apps/booking-api/src/repositories/catalog.repository.js'
import { paymentChecksQuery } from '../../apps/booking-api/src/repositories/payment-checks.js'
import { percentile } from './load.js'

export interface FloorPurchase {
  token: string
  accountId: string
  seatId: number
}

/** What every run of the floor shares: the stores, the event, the app's settings. */
export interface FloorSetup {
  mysqlUrl: string
  redisUrl: string
  prefix: string
  /** The booking API's DB_POOL_SIZE. */
  poolSize: number
  /** Purchases in flight at once (the HTTP phase's connections). */
  concurrency: number
  eventId: number
  venueId: number
  /** The booking API's CLAIM_TTL_MS and SEAT_LOCK_TTL_MS (defaults 3000). */
  claimTtlMs?: number
  seatLockTtlMs?: number
  /** QUEUE_EXPIRED_RETENTION_SECONDS (default 900). */
  retentionSeconds?: number
  /** SOLD_SEAT_MARKER_MS (default 600000). */
  soldSeatMarkerMs?: number
}

export interface FloorOptions extends FloorSetup {
  scheduleId: number
  purchases: readonly FloorPurchase[]
}

export interface FloorResult {
  purchases: number
  failures: number
  rps: number
  p50: number
  p99: number
}

type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>

/**
 * EVALSHA of packages/queue's scripts (ioredis loads each on its first NOSCRIPT), by file
 * name; a name packages/queue no longer has fails loudly (the purchase path changed: update this module).
 */
function scripts(redis: Redis): (file: string) => Script {
  const byName: Record<string, Script> = {}
  for (const script of loadScripts()) {
    const name = `floor_${script.file.replaceAll('-', '_')}`
    redis.defineCommand(name, { lua: script.lua, numberOfKeys: script.numberOfKeys })
    const run = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]
    if (!run) throw new Error(`script ${script.file} not defined`)
    byName[script.file] = (keys, args) => run.call(redis, ...keys, ...args)
  }
  return (file) => {
    const script = byName[file]
    if (!script) throw new Error(`packages/queue has no ${file}.lua: update scripts/bench/purchase-floor.ts`)
    return script
  }
}

/** A repository statement's SQL and values, to run bare as Kysely's MysqlDriver would (query). */
function bare(compiled: CompiledQuery): [string, unknown[]] {
  return [compiled.sql, compiled.parameters as unknown[]]
}

/** Kysely's transaction start for setIsolationLevel('read committed'), as the purchase runs it. */
async function transaction<T>(pool: Pool, work: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection()
  try {
    await c.query('set transaction isolation level read committed')
    await c.query('begin')
    try {
      const value = await work(c)
      await c.query('commit')
      return value
    } catch (error) {
      await c.query('rollback')
      throw error
    }
  } finally {
    c.release()
  }
}

async function purchase(
  o: FloorSetup,
  pool: Pool,
  lua: (file: string) => Script,
  p: FloorPurchase,
  probe: { seen: string },
  scheduleId: number,
): Promise<void> {
  const k = eventKeys(o.prefix, o.eventId)
  const tokenKey = k.token(p.token)
  const owner = randomUUID()
  const claimTtlMs = o.claimTtlMs ?? 3_000
  // R2
  const seatKeyBase = k.seatKeyBase(scheduleId)
  const batch = (await lua('begin-purchase-4')(
    [k.marker, k.tokenKeyBase, k.active, k.waiting],
    [p.token, owner, claimTtlMs, seatKeyBase, o.seatLockTtlMs ?? 3_000, 1, p.seatId],
  )) as Array<string | Array<string | number>>
  const begun = batch[1] as Array<string | number> | undefined
  if (begun?.[0] !== 'OK') throw new Error(`begin-purchase: ${String(begun?.[0])}`)
  const claimed: TokenState = toTokenState(pairs(begun, 1))
  // S1
  const [seats] = await pool.query(
    'select `v`.`id` as `seatId`, `v`.`seat_number` as `seatNumber`, `p`.`price` as `price`, `e`.`max_seats_per_order` as `maxSeatsPerOrder`, `e`.`max_seats_per_account` as `maxSeatsPerAccount` from `VENUE_SEAT` as `v` inner join `SEAT_PRICE` as `p` on `p`.`seat_type` = `v`.`seat_type` and `p`.`event_id` = ? inner join `EVENT` as `e` on `e`.`id` = `p`.`event_id` where `v`.`id` in (?) and `v`.`venue_id` = ? order by `v`.`id`',
    [o.eventId, p.seatId, o.venueId],
  )
  const price = Number((seats as Array<{ price: number }>)[0]?.price)
  const completedAt = new Date()
  // S2..S10
  await transaction(pool, async (c) => {
    const [debit] = await c.query(
      'update `ACCOUNT` set `amount` = amount - ? where `id` = ? and `amount` >= ?',
      [price, p.accountId, price],
    )
    if ((debit as { affectedRows: number }).affectedRows !== 1) throw new Error('insufficient balance')
    const [checks] = await c.query(
      ...bare(paymentChecksQuery({ accountId: p.accountId, eventId: o.eventId, token: p.token })),
    )
    const balanceAfter = Number((checks as Array<{ balance: number }>)[0]?.balance)
    const [inserted] = await c.query(
      'insert into `RESERVATION` (`schedule_id`, `seat_id`, `account_id`, `price`, `reserved_at`, `order_id`) values (?, ?, ?, ?, ?, ?)',
      [scheduleId, p.seatId, p.accountId, price, completedAt, null],
    )
    const reservationId = (inserted as { insertId: number }).insertId
    await c.query('update `RESERVATION` set `order_id` = ? where `id` = ?', [reservationId, reservationId])
    await c.query(
      'insert into `BALANCE_HISTORY` (`account_id`, `amount`, `type`, `reservation_id`, `idempotency_key`, `balance_after`) values (?, ?, ?, ?, ?, ?)',
      [p.accountId, -price, 'PAYMENT', reservationId, null, balanceAfter],
    )
    await c.query(...bare(markTokenCompletedQuery(claimed, completedAt)))
  })
  // S11 then R3 (the sold-out check settles before the token frees its slot)
  const after = await pool.query(...bare(freeSeatQuery('after', scheduleId, probe.seen)))
  let free = (after[0] as Array<{ seatNumber: string }>)[0]?.seatNumber
  if (free === undefined && probe.seen !== '') {
    const before = await pool.query(...bare(freeSeatQuery('before', scheduleId, probe.seen)))
    free = (before[0] as Array<{ seatNumber: string }>)[0]?.seatNumber
  }
  probe.seen = free ?? ''
  await lua('finish-purchase-9')(
    [
      k.marker,
      tokenKey,
      k.waiting,
      k.active,
      k.accounts,
      k.records,
      k.stream,
      k.feed,
      catalogVersionsKey(o.prefix, o.eventId),
    ],
    [
      p.token,
      owner,
      completedAt.getTime(),
      o.retentionSeconds ?? 900,
      seatKeyBase,
      o.soldSeatMarkerMs ?? 600_000,
      24 * 3600 * 1000,
      completedVersion(claimed),
      1,
      p.seatId,
      'd',
      randomUUID(),
      `s:${scheduleId}`,
      randomUUID(),
    ],
  )
}

export interface PurchaseFloor {
  /** The purchases of one show, `concurrency` at a time: throughput and per-purchase latency. */
  run(scheduleId: number, purchases: readonly FloorPurchase[]): Promise<FloorResult>
  close(): Promise<void>
}

/**
 * The floor's pool and Redis client, for runs of it alternating with the HTTP phase's
 * rounds (and its warm-up): each run a show's purchases, as the app's own would be.
 */
export function openPurchaseFloor(o: FloorSetup): PurchaseFloor {
  const pool = createPool(poolOptions({ url: o.mysqlUrl, poolSize: o.poolSize }))
  // The apps' pool sets every session to UTC (packages/db connection.ts).
  pool.pool.on('connection', (connection) => connection.query("SET time_zone = '+00:00'"))
  const redis = new Redis(o.redisUrl)
  const lua = scripts(redis)
  // The free seat the last probe found, per show (SaleService keeps one per show, like this).
  const probes = new Map<number, { seen: string }>()
  return {
    async run(scheduleId, purchases) {
      let probe = probes.get(scheduleId)
      if (!probe) {
        probe = { seen: '' }
        probes.set(scheduleId, probe)
      }
      const latencies: number[] = []
      let failures = 0
      let next = 0
      const worker = async () => {
        for (;;) {
          const p = purchases[next]
          next += 1
          if (!p) return
          const t0 = performance.now()
          try {
            await purchase(o, pool, lua, p, probe, scheduleId)
            latencies.push(performance.now() - t0)
          } catch (error) {
            failures += 1
            if (failures <= 3) console.error(`  floor purchase failed: ${String(error)}`)
          }
        }
      }
      const started = performance.now()
      await Promise.all(Array.from({ length: o.concurrency }, worker))
      const seconds = (performance.now() - started) / 1000
      return {
        purchases: latencies.length,
        failures,
        rps: latencies.length / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      }
    },
    async close() {
      redis.disconnect()
      await pool.end()
    },
  }
}

/** One run of the floor on its own pool and client (the floor's test). */
export async function runPurchaseFloor(o: FloorOptions): Promise<FloorResult> {
  const floor = openPurchaseFloor(o)
  try {
    return await floor.run(o.scheduleId, o.purchases)
  } finally {
    await floor.close()
  }
}
