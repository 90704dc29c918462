/**
 * The purchase floor: what one reserve-and-pay costs the stores, with no HTTP and no
 * app code around it. Each purchase runs the purchase's own Redis calls bare with
 * ioredis (EVALSHA of packages/queue's Lua scripts, loaded with loadScripts) and its
 * own SQL statements bare with mysql2 (a pool of the booking API's DB_POOL_SIZE), at
 * the same concurrency as the HTTP phase. Self-contained on purpose: when the purchase
 * path changes, edit the list below and the two functions that follow it.
 *
 * What one POST /v1/reservations (one seat, no Idempotency-Key) runs today, in order,
 * and the code path each step mirrors (apps/booking-api/src/…):
 *
 *  R1 EVALSHA verify-2          plugins/token-guard.ts → QueueService.verify
 *     (the token scope reads the schedule from the in-process catalogue cache: no query)
 *  S1 SELECT max_seats_per_order, max_seats_per_account FROM EVENT
 *                                services/catalog.service.ts purchaseLimits → events.repository findPurchaseLimits
 *  S2 SELECT seat, number, price FROM VENUE_SEAT JOIN SEAT_PRICE
 *                                catalog.service seatsForSale → catalog.repository findPricedSeats
 *  R2 EVALSHA claim-3            reservation.service claim → QueueService.claim
 *  R3 SET seat-lock NX PX        reservation.service withSeatLocks → packages/queue lock.ts withLocks
 *  S3 SELECT seat_id FROM RESERVATION (live_seat_id IN …)
 *                                reservations.repository soldSeatIdsAmong (pre-check)
 *  S4 SELECT amount FROM ACCOUNT accounts.repository balanceOf (pre-check)
 *  transaction (reservation.service pay, READ COMMITTED):
 *  S5 SET TRANSACTION ISOLATION LEVEL READ COMMITTED; S6 BEGIN      (Kysely's MysqlDriver)
 *  S7 UPDATE ACCOUNT SET amount = amount - ? … AND amount >= ?      accounts.repository deductFromBalance
 *  S8 SELECT reason FROM QUEUE_TOKEN … FOR UPDATE                  queue-tokens.repository lockTokenAndCheckPaid
 *  S9 SELECT COUNT(*) FROM RESERVATION JOIN EVENT_SCHEDULE …        reservations.repository countSeatsHeld
 *  S10 INSERT INTO RESERVATION; S11 UPDATE RESERVATION SET order_id  reservations.repository insertOrder
 *  S12 SELECT amount FROM ACCOUNT                                   accounts.repository balanceOf
 *  S13 INSERT INTO BALANCE_HISTORY                                   balance-history.repository insertHistory
 *  S14 INSERT INTO QUEUE_TOKEN … ON DUPLICATE KEY UPDATE            queue-tokens.repository markTokenCompleted
 *  S15 COMMIT
 *  after commit (reservation.service afterCommit):
 *  R4 EVALSHA complete-7         QueueService.complete
 *  R5 DEL seat-map               catalog.service invalidateSeatMap
 *  S16 SELECT shows with seat counts   sale.service refreshSoldOut → catalog.seatsOnSale → listBookableSchedules
 *  R6 HGET sale soldOut          sale.service refreshSoldOut (setSoldOut only when the flag changes: not here)
 *  R7 EVALSHA unlock-1           lock.ts withLocks' release
 *
 * The SQL text is what Kysely compiles for those repository calls (copied from its
 * query log), with the same parameters.
 */
import { randomUUID } from 'node:crypto'
import { poolOptions } from '@concert/db'
import {
  eventKeys,
  loadScripts,
  pairs,
  scheduleKeys,
  type TokenState,
  toQueueTokenRow,
  toTokenState,
} from '@concert/queue'
import { Redis } from 'ioredis'
import { createPool, type Pool, type PoolConnection } from 'mysql2/promise'
import { percentile } from './load.js'

export interface FloorPurchase {
  token: string
  accountId: string
  seatId: number
}

export interface FloorOptions {
  mysqlUrl: string
  redisUrl: string
  prefix: string
  /** The booking API's DB_POOL_SIZE. */
  poolSize: number
  /** Purchases in flight at once (the HTTP phase's connections). */
  concurrency: number
  eventId: number
  venueId: number
  scheduleId: number
  purchases: readonly FloorPurchase[]
  /** The booking API's CLAIM_TTL_MS and SEAT_LOCK_TTL_MS (defaults 3000). */
  claimTtlMs?: number
  seatLockTtlMs?: number
  /** QUEUE_EXPIRED_RETENTION_SECONDS (default 900). */
  retentionSeconds?: number
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

/** UTC−12's date: no show dated before it is still on sale anywhere (show-time.ts earliestLocalDate). */
function earliestLocalDate(now = new Date()): string {
  return new Date(now.getTime() - 12 * 3_600_000).toISOString().slice(0, 10)
}

async function purchase(
  o: FloorOptions,
  pool: Pool,
  redis: Redis,
  lua: (file: string) => Script,
  p: FloorPurchase,
): Promise<void> {
  const k = eventKeys(o.prefix, o.eventId)
  const tokenKey = k.token(p.token)
  const owner = randomUUID()
  const claimTtlMs = o.claimTtlMs ?? 3_000
  // R1
  await lua('verify-2')([k.marker, tokenKey], [])
  // S1, S2
  await pool.query(
    'select `max_seats_per_order` as `maxSeatsPerOrder`, `max_seats_per_account` as `maxSeatsPerAccount` from `EVENT` where `id` = ?',
    [o.eventId],
  )
  const [seats] = await pool.query(
    'select `v`.`id` as `seatId`, `v`.`seat_number` as `seatNumber`, `p`.`price` as `price` from `VENUE_SEAT` as `v` inner join `SEAT_PRICE` as `p` on `p`.`seat_type` = `v`.`seat_type` and `p`.`event_id` = ? where `v`.`id` in (?) and `v`.`venue_id` = ? order by `v`.`id`',
    [o.eventId, p.seatId, o.venueId],
  )
  const price = Number((seats as Array<{ price: number }>)[0]?.price)
  // R2
  const claim = (await lua('claim-3')([k.marker, tokenKey, k.active], [p.token, owner, claimTtlMs])) as Array<
    string | number
  >
  if (claim?.[0] !== 'OK') throw new Error(`claim: ${String(claim?.[0])}`)
  const claimed: TokenState = toTokenState(pairs(claim, 1))
  // R3
  const lockKey = scheduleKeys(o.prefix, o.scheduleId).seatLock(p.seatId)
  if ((await redis.set(lockKey, owner, 'PX', o.seatLockTtlMs ?? 3_000, 'NX')) !== 'OK')
    throw new Error('seat locked')
  try {
    // S3, S4
    await pool.query(
      'select `seat_id` from `RESERVATION` where `schedule_id` = ? and `live_seat_id` in (?) order by `seat_id`',
      [o.scheduleId, p.seatId],
    )
    await pool.query('select `amount` from `ACCOUNT` where `id` = ?', [p.accountId])
    const completedAt = new Date()
    // S5..S15
    await transaction(pool, async (c) => {
      const [debit] = await c.query(
        'update `ACCOUNT` set `amount` = amount - ? where `id` = ? and `amount` >= ?',
        [price, p.accountId, price],
      )
      if ((debit as { affectedRows: number }).affectedRows !== 1) throw new Error('insufficient balance')
      await c.query('select `reason` from `QUEUE_TOKEN` where `token` = ? for update', [p.token])
      await c.query(
        'select count(*) as `n` from `RESERVATION` as `r` inner join `EVENT_SCHEDULE` as `s` on `s`.`id` = `r`.`schedule_id` where `r`.`account_id` = ? and `s`.`event_id` = ? and `r`.`status` = ?',
        [p.accountId, o.eventId, 'SOLD'],
      )
      const [inserted] = await c.query(
        'insert into `RESERVATION` (`schedule_id`, `seat_id`, `account_id`, `price`, `reserved_at`, `order_id`) values (?, ?, ?, ?, ?, ?)',
        [o.scheduleId, p.seatId, p.accountId, price, completedAt, null],
      )
      const reservationId = (inserted as { insertId: number }).insertId
      await c.query('update `RESERVATION` set `order_id` = ? where `id` = ?', [reservationId, reservationId])
      const [balance] = await c.query('select `amount` from `ACCOUNT` where `id` = ?', [p.accountId])
      const balanceAfter = Number((balance as Array<{ amount: number }>)[0]?.amount)
      await c.query(
        'insert into `BALANCE_HISTORY` (`account_id`, `amount`, `type`, `reservation_id`, `idempotency_key`, `balance_after`) values (?, ?, ?, ?, ?, ?)',
        [p.accountId, -price, 'PAYMENT', reservationId, null, balanceAfter],
      )
      const row = toQueueTokenRow({
        ...claimed,
        status: 'EXPIRED',
        reason: 'COMPLETED',
        expiresAt: completedAt.getTime(),
        version: claimed.version + 1,
      })
      const columns = Object.keys(row)
      await c.query(
        `insert into \`QUEUE_TOKEN\` (${columns.map((col) => `\`${col}\``).join(', ')}) values (${columns.map(() => '?').join(', ')}) ` +
          'on duplicate key update `status` = ?, `reason` = ?, `ready_at` = ?, `expires_at` = ?, `version` = GREATEST(version, ?)',
        [...Object.values(row), row.status, row.reason, row.ready_at, row.expires_at, row.version],
      )
    })
    // R4, R5, S16, R6
    await lua('complete-7')(
      [k.marker, tokenKey, k.waiting, k.heartbeat, k.active, k.accounts, k.stream],
      [p.token, owner, completedAt.getTime(), o.retentionSeconds ?? 900],
    )
    await redis.del(scheduleKeys(o.prefix, o.scheduleId).seatMap)
    await pool.query(
      "select `s`.`id` as `scheduleId`, `s`.`date` as `date`, `s`.`start_time` as `startTime`, `s`.`end_time` as `endTime`, `venue`.`time_zone` as `timeZone`, (SELECT COUNT(*) FROM VENUE_SEAT v WHERE v.venue_id = e.venue_id) as `totalSeats`, (SELECT COUNT(*) FROM RESERVATION r WHERE r.schedule_id = s.id AND r.status = 'SOLD') as `reservedSeats` from `EVENT_SCHEDULE` as `s` inner join `EVENT` as `e` on `e`.`id` = `s`.`event_id` inner join `VENUE` as `venue` on `venue`.`id` = `e`.`venue_id` where `s`.`event_id` = ? and `s`.`date` >= ? order by `s`.`date`, `s`.`start_time`",
      [o.eventId, earliestLocalDate()],
    )
    await redis.hget(k.sale, 'soldOut')
  } finally {
    // R7
    await lua('unlock-1')([lockKey], [owner])
  }
}

/** Runs every purchase, `concurrency` at a time; throughput and per-purchase latency. */
export async function runPurchaseFloor(o: FloorOptions): Promise<FloorResult> {
  const pool = createPool(poolOptions({ url: o.mysqlUrl, poolSize: o.poolSize }))
  // The apps' pool sets every session to UTC (packages/db connection.ts).
  pool.pool.on('connection', (connection) => connection.query("SET time_zone = '+00:00'"))
  const redis = new Redis(o.redisUrl)
  const lua = scripts(redis)
  const latencies: number[] = []
  let failures = 0
  let next = 0
  try {
    const started = performance.now()
    const worker = async () => {
      for (;;) {
        const p = o.purchases[next]
        next += 1
        if (!p) return
        const t0 = performance.now()
        try {
          await purchase(o, pool, redis, lua, p)
          latencies.push(performance.now() - t0)
        } catch (error) {
          failures += 1
          if (failures <= 3) console.error(`  floor purchase failed: ${String(error)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: o.concurrency }, worker))
    const seconds = (performance.now() - started) / 1000
    return {
      purchases: latencies.length,
      failures,
      rps: latencies.length / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    }
  } finally {
    redis.disconnect()
    await pool.end()
  }
}
