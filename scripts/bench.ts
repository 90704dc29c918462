/**
 * `pnpm bench`: measures the hot paths over real HTTP on this machine and
 * prints figures (it asserts nothing; the test suite checks correctness).
 *
 *   1. a flash crowd: N concurrent joins of one event's queue
 *   2. contested seats: 50 READY fans racing for the same seat, several rounds
 *   3. seat-map reads with many concurrent clients
 *   4. mirror catch-up: how fast a backlog of token changes reaches QUEUE_TOKEN
 *   5. admission accuracy: the configured rate against what was admitted
 *
 * It works in a database of its own (created and dropped) and its own Redis
 * key prefix, so it never touches the demo data.
 */
import { buildBookingApp, loadBookingConfig } from '@concert/booking-api'
import { createDb, dropDatabase, ensureDatabase, migrateToLatest, seedDemoData } from '@concert/db'
import type { App } from '@concert/http'
import { eventKeys, QueueService } from '@concert/queue'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { DEFAULT_MYSQL_URL, DEFAULT_REDIS_URL } from '@concert/shared'
import { createEvent, deleteKeys, insertAccounts } from '@concert/testing/fixtures'
import { Redis } from 'ioredis'

const JOINS = Number(process.env.BENCH_JOINS ?? 2000)
const RACERS = 50
const ROUNDS = 5
const SEAT_MAP_READS = 2000
const ADMIT_SECONDS = 5
const ADMIT_RATE = 20

const stamp = Date.now()
const server = new URL(process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL)
server.pathname = `/concert_bench_${stamp}`
const mysqlUrl = server.toString()
const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL
const prefix = `bench:${stamp}:`
const env = { MYSQL_URL: mysqlUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent' }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

function summary(name: string, latencies: number[], wallMs: number, extra = ''): void {
  const sorted = [...latencies].sort((a, b) => a - b)
  const f = (n: number) => n.toFixed(1).padStart(8)
  console.log(
    `${name.padEnd(34)} n=${String(sorted.length).padStart(5)}  ${(sorted.length / (wallMs / 1000)).toFixed(0).padStart(6)} req/s` +
      `  p50${f(percentile(sorted, 50))} ms  p95${f(percentile(sorted, 95))} ms  p99${f(percentile(sorted, 99))} ms` +
      `  max${f(sorted.at(-1) ?? 0)} ms  ${extra}`,
  )
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now()
  const value = await work()
  return { value, ms: performance.now() - start }
}

async function listen(app: App): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return `http://127.0.0.1:${address.port}`
}

async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function main(): Promise<void> {
  await ensureDatabase(mysqlUrl)
  const db = createDb({ url: mysqlUrl, poolSize: 5 })
  const redis = new Redis(redisUrl)
  const apps: App[] = []
  try {
    await migrateToLatest(db)
    await seedDemoData(db)
    const accounts = await insertAccounts(db, JOINS, { prefix: 'bench', balance: 10_000_000 })
    const [event] = await db.selectFrom('EVENT').select('id').orderBy('id').execute()
    const eventId = event?.id as number
    const schedule = await db
      .selectFrom('EVENT_SCHEDULE')
      .select('id')
      .where('event_id', '=', eventId)
      .orderBy('id')
      .executeTakeFirstOrThrow()
    const seats = await db.selectFrom('VENUE_SEAT').select('id').orderBy('id').execute()

    const gateway = await buildGatewayApp({
      config: loadGatewayConfig({
        ...env,
        ISSUE_RATE_LIMIT_PER_MINUTE: '10000000',
        QUEUE_ADMIT_PER_SECOND: '100000',
        QUEUE_MAX_ACTIVE: '100000',
      }),
      logger: false,
      workers: false,
    })
    const booking = await buildBookingApp({
      config: loadBookingConfig({ ...env, DB_POOL_SIZE: '10' }),
      logger: false,
    })
    apps.push(gateway, booking)
    const gatewayUrl = await listen(gateway)
    const bookingUrl = await listen(booking)
    console.log(
      `bench database ${server.pathname.slice(1)}, Redis prefix ${prefix}, node ${process.version}\n`,
    )

    // 1. Flash crowd.
    const joinLatencies: number[] = []
    const crowd = await timed(() =>
      Promise.all(
        accounts.map(async (accountId) => {
          const { value, ms } = await timed(() =>
            post(`${gatewayUrl}/v1/queue/tokens`, { accountId, eventId }),
          )
          joinLatencies.push(ms)
          return value
        }),
      ),
    )
    const positions = crowd.value.map((r) => r.body.position as number).sort((a, b) => a - b)
    const exact = positions.every((p, i) => p === i + 1)
    summary(`join queue (${JOINS} at once)`, joinLatencies, crowd.ms, `places 1..${JOINS} exact: ${exact}`)

    // Admit everyone so they can buy.
    const queue = new QueueService({ redis, db, prefix, settings: gateway.queue.settings })
    const tokens = new Map(crowd.value.map((r) => [r.body.accountId as string, r.body.token as string]))
    while ((await queue.admit(eventId)).waiting > 0) await new Promise((r) => setTimeout(r, 20))

    // 2. Contested seats.
    const raceLatencies: number[] = []
    let won = 0
    let lost = 0
    const raceWall = await timed(async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const racers = accounts.slice(round * RACERS, (round + 1) * RACERS)
        const seatId = seats[round]?.id as number
        await Promise.all(
          racers.map(async (id) => {
            const { value, ms } = await timed(() =>
              post(`${bookingUrl}/v1/reservations`, { scheduleId: schedule.id, seatId }, tokens.get(id)),
            )
            raceLatencies.push(ms)
            if (value.status === 201) won += 1
            else if (value.status === 409) lost += 1
          }),
        )
      }
    })
    summary(
      `reserve: ${RACERS} racing for 1 seat ×${ROUNDS}`,
      raceLatencies,
      raceWall.ms,
      `201=${won} 409=${lost}`,
    )

    // 3. Seat-map reads, 50 clients at a time.
    const reader = tokens.get(accounts.at(-1) as string) as string
    const mapLatencies: number[] = []
    const mapWall = await timed(async () => {
      for (let i = 0; i < SEAT_MAP_READS; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const { ms } = await timed(async () => {
              const response = await fetch(`${bookingUrl}/v1/schedules/${schedule.id}/seats`, {
                headers: { authorization: `Bearer ${reader}` },
              })
              await response.arrayBuffer()
            })
            mapLatencies.push(ms)
          }),
        )
      }
    })
    summary('seat map (50 concurrent clients)', mapLatencies, mapWall.ms)

    // 4. Mirror throughput: everything above was done with no mirror running, so the
    //    stream holds every change; a gateway copy starts and writes it all to MySQL.
    const stream = eventKeys(prefix, eventId).stream
    const backlog = await redis.xlen(stream)
    const mirrorCopy = await buildGatewayApp({ config: loadGatewayConfig(env), logger: false })
    const drained = await timed(async () => {
      await mirrorCopy.ready()
      while ((await redis.xlen(stream)) > 0) await new Promise((r) => setTimeout(r, 10))
    })
    await mirrorCopy.close()
    const rows = await db
      .selectFrom('QUEUE_TOKEN')
      .select(db.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    console.log(
      `${'mirror catch-up (1 gateway copy)'.padEnd(34)} ${backlog} changes → ${rows.n} QUEUE_TOKEN rows in ` +
        `${drained.ms.toFixed(0)} ms (${((backlog / drained.ms) * 1000).toFixed(0)} changes/s)`,
    )

    // 5. Admission accuracy with two gateway copies.
    // A fresh event, so its admission bucket starts empty when the two copies start.
    const admitEvent = await createEvent(db, 'bench admission')
    for (const id of accounts.slice(0, 400)) await queue.join(admitEvent, id)
    const copies = await Promise.all(
      [0, 1].map(() =>
        buildGatewayApp({
          config: loadGatewayConfig({
            ...env,
            QUEUE_ADMIT_PER_SECOND: String(ADMIT_RATE),
            QUEUE_MAX_ACTIVE: '100000',
          }),
          logger: false,
        }).then(async (app) => {
          await app.ready()
          return app
        }),
      ),
    )
    await new Promise((r) => setTimeout(r, ADMIT_SECONDS * 1000))
    await Promise.all(copies.map((app) => app.close()))
    // The admission log has each admission's Redis time: the rate between the first and
    // the last one is what the cluster really did, whatever the start-up skew of the copies.
    const log = await redis.zrange(eventKeys(prefix, admitEvent).admitted, 0, -1, 'WITHSCORES')
    const times = log.filter((_, i) => i % 2 === 1).map(Number)
    const spanSeconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000
    const rate = spanSeconds > 0 ? (times.length - 1) / spanSeconds : 0
    console.log(
      `${'admission, 2 gateway copies'.padEnd(34)} configured ${ADMIT_RATE}/s → ${times.length} admitted over ` +
        `${spanSeconds.toFixed(2)} s = ${rate.toFixed(2)}/s (${((rate / ADMIT_RATE - 1) * 100).toFixed(1)}%)`,
    )
  } finally {
    await Promise.all(apps.map((app) => app.close()))
    await deleteKeys(redis, `${prefix}*`)
    redis.disconnect()
    await db.destroy()
    await dropDatabase(mysqlUrl)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
