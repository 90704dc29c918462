/**
 * `pnpm bench`: issue 11's figures, measured from outside the servers. The gateway,
 * the booking API and a Fastify hello-world run as child processes (built from
 * source with tsx, like `pnpm start`); autocannon loads them from this process.
 * Every path is printed with throughput and p50/p99, and divided by its floor
 * measured in the same run; the output ends with a markdown table of every figure
 * next to its acceptance target. Knobs: scripts/bench/config.ts (BENCH_*), and
 * docs/benchmarks.md for what each phase measures.
 *
 * It works in a database of its own (concert_bench_<stamp>, dropped at the end) and a
 * private redis-server (or BENCH_REDIS_URL under the prefix bench:<stamp>:, deleted at
 * the end), so it never touches anyone else's data.
 */
import { cpus, totalmem } from 'node:os'
import { dropDatabase, setUpDatabase } from '@concert/db'
import { deleteKeys } from '@concert/testing/fixtures'
import { sql } from 'kysely'
import {
  adminKey,
  appNodeFlags,
  databaseName,
  jwtSecret,
  mysqlUrl,
  PHASES,
  type Phase,
  redisPrefix,
  runPhases,
  settings,
} from './bench/config.js'
import { hotSeatPhase } from './bench/hot-seat.js'
import { type IdleCost, idlePhase } from './bench/idle.js'
import { checkInvariants } from './bench/invariants.js'
import { type Alternated, alternate, type LoadResult, load, measureCpuOf, warmUp } from './bench/load.js'
import { type Child, startChild, stopChild } from './bench/processes.js'
import { purchasesPhase } from './bench/purchases.js'
import { type BenchRedis, startBenchRedis } from './bench/redis.js'
import { fmt, printTable, type Row } from './bench/report.js'
import {
  adminApi,
  closeStores,
  createAccounts,
  createCatalogue,
  createIdleEvents,
  joinAll,
  openStores,
  type Stores,
  signAccountTokens,
  waitUntilReady,
} from './bench/setup.js'
import { openFileLimit, ssePhase, streamsThisMachineAllows } from './bench/sse.js'
import { waitersPhase } from './bench/waiters.js'

/** Readers of the read loads: each seat map or dates request carries the next of their READY tokens. */
const READERS = 1_000

const runStarted = performance.now()
function phase(title: string): void {
  const elapsed = ((performance.now() - runStarted) / 1000).toFixed(0)
  console.log(`\n[${elapsed.padStart(4)} s] ${title}`)
}

async function main(): Promise<void> {
  const children: Child[] = []
  let redis: BenchRedis | undefined
  let stores: Stores | undefined
  let databaseCreated = false
  let cleaned: Promise<void> | undefined
  const cleanup = () => {
    cleaned ??= (async () => {
      phase('cleanup')
      for (const child of [...children].reverse()) await stopChild(child)
      if (stores) {
        if (redis?.kind === 'shared') await deleteKeys(stores.redis, `${redisPrefix}*`)
        await closeStores(stores)
      }
      if (databaseCreated) await dropDatabase(mysqlUrl)
      await redis?.stop()
    })()
    return cleaned
  }
  // Ctrl-C or a `kill` (a timeout's SIGTERM) still drops the database and stops the children
  // and the private Redis: killed without this, the apps ran on and loaded later runs.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      console.log(`\ninterrupted (${signal})`)
      void cleanup().finally(() => process.exit(code))
    })
  }
  try {
    redis = await startBenchRedis()
    console.log(
      `pnpm bench: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ulimit -n ${openFileLimit()}\n` +
        `database ${databaseName}, ${redis.kind} Redis ${redis.url} prefix ${redisPrefix}\n` +
        `settings ${JSON.stringify(settings)}`,
    )
    phase('setup: database, apps, catalogue, accounts, READY tokens')
    databaseCreated = true
    await setUpDatabase(mysqlUrl, { seed: true })
    stores = openStores(redis.url)
    const mysqlVersion = await sql<{ v: string }>`SELECT VERSION() AS v`.execute(stores.db)
    const redisVersion = /^redis_version:(\S+)/m.exec(await stores.redis.info('server'))?.[1]
    console.log(
      `  MySQL ${mysqlVersion.rows[0]?.v}, Redis ${redisVersion}, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM`,
    )
    const appEnv = {
      MYSQL_URL: mysqlUrl,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
      AUTH_JWT_SECRET: jwtSecret,
    }
    const gatewayEnv = {
      ...appEnv,
      // The bench is one client address making every join and stream.
      ISSUE_RATE_LIMIT_PER_MINUTE: '10000000',
      SSE_STREAMS_PER_IP: '1000000',
      // Events created below are known to the gateway within a second.
      QUEUE_EVENTS_REFRESH_MS: '1000',
    }
    const startGateway = (name: string) =>
      startChild(
        name,
        'apps/queue-gateway/src/server.ts',
        'GATEWAY_PORT',
        gatewayEnv,
        '/health/ready',
        appNodeFlags,
      )
    const [hello, gateway, booking] = await Promise.all([
      startChild('hello-world', 'scripts/bench/hello-world.ts', 'PORT', {}, '/'),
      startGateway('queue-gateway'),
      startChild(
        'booking-api',
        'apps/booking-api/src/server.ts',
        'BOOKING_PORT',
        {
          ...appEnv,
          ADMIN_API_KEYS: adminKey,
          DB_POOL_SIZE: String(settings.dbPoolSize),
        },
        '/health/ready',
        appNodeFlags,
      ),
    ])
    children.push(hello, gateway, booking)
    // Every load prints the CPU per answer of each process: which one holds a path back.
    const cpuSources = {
      pids: {
        'hello-world': hello.process.pid as number,
        'queue-gateway': gateway.process.pid as number,
        'booking-api': booking.process.pid as number,
      },
      redis: stores.redis,
    }
    measureCpuOf(cpuSources)
    const c = await createCatalogue(adminApi(booking.url))
    console.log(
      `  catalogue: ${c.seatIds.length + c.warmUpSeats.length + 1} seats for sale, ${settings.shows} shows of one event`,
    )
    const run = (name: Phase) => runPhases.has(name)
    if (runPhases.size < PHASES.length) console.log(`  phases: ${[...runPhases].join(', ')} (BENCH_PHASES)`)
    const balance = 10_000_000
    const purchasing = run('purchases')
    const buyers = purchasing ? await createAccounts(stores, 'buyer', settings.purchases, balance) : []
    const floorBuyers = purchasing ? await createAccounts(stores, 'floor', settings.purchases, balance) : []
    const racers = purchasing
      ? await createAccounts(stores, 'racer', settings.hotSeatRacers + settings.hotSeatWarmUps, balance)
      : []
    const warmUps = purchasing ? settings.purchaseWarmUps : 0
    const warmBuyers = warmUps > 0 ? await createAccounts(stores, 'warm', warmUps, balance) : []
    const floorWarmBuyers = warmUps > 0 ? await createAccounts(stores, 'floorwarm', warmUps, balance) : []
    const readers = await createAccounts(stores, 'reader', READERS)
    // A fifth more accounts than joins: each connection sends its own part of the list (a
    // disjoint spread), with room to send more than its share; one that ran out would start
    // its part over, and those second joins answer 200, which the load's line would show.
    const joiners = run('joins')
      ? await createAccounts(stores, 'joiner', Math.ceil(settings.joinAccounts * 1.2))
      : []
    const joinJwts = await signAccountTokens(joiners)
    const warmJoiners = run('joins') ? await createAccounts(stores, 'warmjoiner', settings.joinWarmUps) : []
    const warmJoinJwts = await signAccountTokens(warmJoiners)
    console.log(`  accounts and JWTs made; joining and admitting the purchase tokens`)
    const readerTokens = await joinAll(stores, c.datesEvent, readers)
    const purchaseTokens = await joinAll(stores, c.purchaseEvent, [
      ...buyers,
      ...floorBuyers,
      ...racers,
      ...warmBuyers,
      ...floorWarmBuyers,
    ])
    await waitUntilReady(stores, c.datesEvent, readerTokens.length)
    await waitUntilReady(stores, c.purchaseEvent, purchaseTokens.length)
    const buyerTokens = purchaseTokens.slice(0, settings.purchases)
    const floorTokens = purchaseTokens.slice(settings.purchases, 2 * settings.purchases)
    const racersEnd = 2 * settings.purchases + racers.length
    const racerTokens = purchaseTokens.slice(2 * settings.purchases, racersEnd)
    const warmTokens = purchaseTokens.slice(racersEnd, racersEnd + warmUps)
    const floorWarmTokens = purchaseTokens.slice(racersEnd + warmUps)
    console.log(
      `  ${purchaseTokens.length + readerTokens.length} READY tokens, ${joiners.length} accounts with JWTs for joins`,
    )

    const reads = { connections: settings.connections, seconds: settings.seconds }
    // Each read request carries the next of the readers' tokens, as many fans read at once.
    const asReaders = (path: string) =>
      readerTokens.map((token) => ({ path, headers: { authorization: `Bearer ${token}` } }))
    // The closing table keeps one order whichever phases ran.
    const rows = {
      floor: [] as Row[],
      purchases: [] as Row[],
      reads: [] as Row[],
      poll: [] as Row[],
      joins: [] as Row[],
      waiters: [] as Row[],
      sse: [] as Row[],
      idle: [] as Row[],
    }
    const ratio = (a: LoadResult | { rps: number }, b: LoadResult | { rps: number }) => a.rps / b.rps
    const speed = (r: LoadResult | { rps: number; p50: number; p99: number }) =>
      `${fmt.rps(r.rps)}, p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}`
    let correct = true

    // Every phase but the purchases and SSE is read against the hello-world: the seat map
    // in rounds alternating with it (the figure is the median of the rounds' ratios), the
    // others against its rounds together.
    let helloWorld: LoadResult | undefined
    let seatMapRounds: Alternated | undefined
    if (run('reads')) {
      phase('HTTP floor and read paths')
      seatMapRounds = await alternate('hello-world', { url: hello.url, ...reads }, 'seat map', {
        url: `${booking.url}/v1/schedules/${c.datesFirstShow}/seats`,
        spread: asReaders(`/v1/schedules/${c.datesFirstShow}/seats`),
        ...reads,
      })
      helloWorld = seatMapRounds.floor
    } else if (run('joins') || run('waiters')) {
      phase('HTTP floor')
      helloWorld = await load('hello-world (HTTP floor)', { url: hello.url, ...reads })
    }
    if (helloWorld) rows.floor.push({ figure: 'hello-world (HTTP floor)', value: speed(helloWorld) })
    const floorRatio = (r: LoadResult) => ratio(r, helloWorld as LoadResult)

    if (seatMapRounds) {
      const seatMap = seatMapRounds.path
      const dates = await load(`dates of an event, ${settings.shows} shows`, {
        url: `${booking.url}/v1/events/${c.datesEvent}/schedules`,
        spread: asReaders(`/v1/events/${c.datesEvent}/schedules`),
        ...reads,
      })
      const events = await load('events list', { url: `${booking.url}/v1/events`, ...reads })
      rows.reads.push(
        { figure: 'seat map', value: speed(seatMap) },
        {
          figure: 'seat map / hello-world (median of the rounds)',
          value: `${fmt.ratio(seatMapRounds.ratio)} (${seatMapRounds.ratios.map(fmt.ratio).join(', ')})`,
          target: '≥ 0.4×',
          pass: seatMapRounds.ratio >= 0.4,
        },
        { figure: `dates, ${settings.shows} shows`, value: speed(dates) },
        {
          figure: 'dates / seat map',
          value: fmt.ratio(ratio(dates, seatMap)),
          target: '≥ 0.5×',
          pass: ratio(dates, seatMap) >= 0.5,
        },
        { figure: 'events list', value: speed(events) },
        { figure: 'events list / hello-world', value: fmt.ratio(floorRatio(events)) },
      )
    }

    if (run('joins')) {
      phase(`new joins: ${settings.joinAccounts} accounts, one join each`)
      const joining = (accounts: readonly string[], jwts: readonly string[], amount: number) => ({
        url: `${gateway.url}/v1/queue/tokens`,
        connections: settings.connections,
        amount,
        headers: { 'content-type': 'application/json' },
        // Built once per connection, as the read loads' requests are: building each join's
        // request as it goes (autocannon's setupRequest) cost the load generator ~80 µs a join.
        spread: accounts.map((accountId, i) => ({
          path: '/v1/queue/tokens',
          body: JSON.stringify({ accountId, eventId: c.joinEvent }),
          headers: { 'x-account-token': jwts[i] as string },
        })),
        disjoint: true,
      })
      // Each join needs an account of its own, so the warm-up has its own (a connection that
      // runs out of its part joins again: answered 200, not counted either).
      if (warmJoiners.length > 0) {
        await warmUp(
          `${warmJoiners.length} warm-up joins`,
          joining(warmJoiners, warmJoinJwts, warmJoiners.length),
        )
      }
      const joins = await load('new joins', joining(joiners, joinJwts, settings.joinAccounts))
      rows.joins.push(
        { figure: 'new joins', value: `${speed(joins)} (${joins.statuses[201] ?? 0} × 201)` },
        {
          figure: 'new joins / hello-world',
          value: fmt.ratio(floorRatio(joins)),
          target: '≥ 0.25×',
          pass: floorRatio(joins) >= 0.25,
        },
      )
    }

    if (purchasing) {
      phase(`reserve+pay: ${settings.purchases} distinct seats, ${settings.purchaseConnections} connections`)
      const purchases = await purchasesPhase({
        bookingUrl: booking.url,
        floor: {
          mysqlUrl,
          redisUrl: redis.url,
          prefix: redisPrefix,
          poolSize: settings.dbPoolSize,
          concurrency: settings.purchaseConnections,
          eventId: c.purchaseEvent,
          venueId: c.purchaseVenue,
        },
        seatIds: c.seatIds,
        show: c.purchaseShow,
        tokens: buyerTokens,
        floorShow: c.floorShow,
        floorTokens,
        floorAccounts: floorBuyers,
        warmUpShow: c.warmUpShow,
        warmUpTokens: warmTokens,
        floorWarmUpShow: c.floorWarmUpShow,
        floorWarmUpTokens: floorWarmTokens,
        floorWarmUpAccounts: floorWarmBuyers,
      })
      const { http: purchase, floor } = purchases

      phase(`hot seat: ${settings.hotSeatRacers} racers for one seat`)
      const hot = await hotSeatPhase({
        bookingUrl: booking.url,
        helloUrl: hello.url,
        scheduleId: c.purchaseShow,
        hotSeat: c.hotSeat,
        warmUpSeats: c.warmUpSeats,
        racerTokens,
      })
      const { winners, loserP50, loserP99, burstFloor, steadyLosers } = hot

      phase('invariants after the purchase phases')
      const inv = await checkInvariants(stores.db, [c.purchaseShow, c.warmUpShow])
      const sold201 = purchase.done + purchases.warmUpSold + hot.warmUpWinners + winners
      console.log(
        `  seats sold twice: ${inv.seatsSoldTwice}; sold on the shows ${inv.soldOnShow} vs 201 answers ${sold201}; ` +
          `balances ≠ Σ ledger: ${inv.balancesOff}; reservations without one matching PAYMENT: ${inv.unpaidReservations}`,
      )
      rows.purchases.push(
        { figure: 'reserve+pay, distinct seats', value: speed(purchase) },
        { figure: 'purchase floor (mysql2 + ioredis)', value: speed(floor) },
        { figure: 'CPU per purchase (last round)', value: purchase.cpu },
        { figure: 'CPU per floor purchase (last round)', value: floor.cpu },
        {
          figure: 'reserve+pay / purchase floor (median of the rounds)',
          // A floor whose purchases failed measured nothing (purchase-floor.ts is behind the purchase path).
          value:
            `${fmt.ratio(purchases.ratio)} (${purchases.ratios.map(fmt.ratio).join(', ')})` +
            (floor.failed > 0 ? ` (${floor.failed} floor purchases failed)` : ''),
          target: '≥ 0.85×',
          pass: floor.failed === 0 && purchases.ratio >= 0.85,
        },
        {
          figure: `hot seat, ${settings.hotSeatRacers} racers: winners`,
          value: String(winners),
          target: '= 1',
          pass: winners === 1,
        },
        { figure: 'hot seat: losers p50', value: fmt.ms(loserP50) },
        { figure: 'hot seat: losers p99', value: fmt.ms(loserP99), target: '≤ 20 ms', pass: loserP99 <= 20 },
        {
          figure: `hello-world, the same burst of ${settings.hotSeatRacers} (its floor)`,
          value: `p50 ${fmt.ms(burstFloor.p50)}, p99 ${fmt.ms(burstFloor.p99)}`,
        },
        // On 2 cores shared with the client, a burst's p99 moves with the machine: the floor's shows by how much.
        { figure: 'hot seat: losers p99 / the floor burst p99', value: fmt.ratio(loserP99 / burstFloor.p99) },
        {
          figure: `hot-seat losers, steady load (${settings.connections} connections, every answer a 409)`,
          value: speed(steadyLosers),
        },
        {
          figure: 'seats sold twice',
          value: String(inv.seatsSoldTwice),
          target: '0',
          pass: inv.seatsSoldTwice === 0,
        },
        {
          figure: 'sold seats = 201 answers',
          value: `${inv.soldOnShow} = ${sold201}`,
          target: 'equal',
          pass: inv.soldOnShow === sold201,
        },
        {
          figure: 'balances ≠ Σ ledger (and reservations without one PAYMENT)',
          value: `${inv.balancesOff} (${inv.unpaidReservations})`,
          target: '0 (0)',
          pass: inv.balancesOff === 0 && inv.unpaidReservations === 0,
        },
      )
      correct =
        winners === 1 &&
        inv.seatsSoldTwice === 0 &&
        inv.soldOnShow === sold201 &&
        inv.balancesOff === 0 &&
        inv.unpaidReservations === 0
    }

    if (run('waiters')) {
      phase(`waiting room: ${settings.waiters} waiters in one queue`)
      const waiters = await waitersPhase(stores, gateway.url, c.waitersEvent, c.smallWaitersEvent, {
        url: hello.url,
        ...reads,
      })
      const pollRatio = waiters.pollRounds.ratio
      const pollP99Ratio = waiters.p99Ratio
      rows.poll.push(
        { figure: 'poll (1k waiters)', value: speed(waiters.pollAt1k) },
        { figure: 'hello-world, in rounds with the polls', value: speed(waiters.pollRounds.floor) },
        {
          figure: 'poll / hello-world (median of the rounds)',
          value: `${fmt.ratio(pollRatio)} (${waiters.pollRounds.ratios.map(fmt.ratio).join(', ')})`,
          target: '≥ 0.5×',
          pass: pollRatio >= 0.5,
        },
        // The first floor of the run, minutes earlier: how far the machine moved meanwhile.
        { figure: 'poll / the first hello-world of the run', value: fmt.ratio(floorRatio(waiters.pollAt1k)) },
      )
      rows.waiters.push(
        {
          figure: `poll at ${waiters.waiters} waiters, head (the first 1,000)`,
          value: speed(waiters.pollHead),
        },
        {
          figure: `poll at ${waiters.waiters} waiters, tail (the last 1,000)`,
          value: speed(waiters.pollTail),
        },
        { figure: 'poll, a queue of 1,000 (in rounds with them)', value: speed(waiters.pollSmall) },
        {
          figure: `poll p99 at ${waiters.waiters} / at 1k (median of the rounds)`,
          value: `${fmt.ratio(pollP99Ratio)} (${waiters.p99Ratios.map(fmt.ratio).join(', ')})`,
          target: '≤ 1.5× (at 1M)',
          pass: pollP99Ratio <= 1.5,
        },
        {
          figure: `Redis per waiting fan (${waiters.waiters} waiters)`,
          value: fmt.bytes(waiters.bytesPerWaiter),
          target: '≤ 300 B (at 1M)',
          pass: waiters.bytesPerWaiter <= 300,
        },
      )
    }

    /** The gateway the loads go to (the SSE phase starts a fresh one). */
    let runningGateway = gateway
    let large = settings.sseLarge
    if (run('sse')) {
      phase('SSE: open streams on one gateway')
      large = streamsThisMachineAllows(settings.sseLarge)
      const sseIds = Array.from({ length: large }, (_, i) => `sse-${i + 1}`)
      const sseTokens = await joinAll(stores, c.sseEvent, sseIds)
      rows.sse.push(
        ...(await ssePhase(stores.redis, sseTokens, async () => {
          // The streams go to a gateway started now, in place of the first one (stopped, so
          // one copy's loops are in the Redis figures, as before): its RSS before the first
          // stream is an app at rest. The first gateway still held what the 1M-waiter phase
          // left for its garbage collector, which may hand it back while streams open (one run
          // measured -392 B per stream that way).
          await stopChild(gateway)
          const sseGateway = await startGateway('queue-gateway (SSE)')
          children.push(sseGateway)
          runningGateway = sseGateway
          return sseGateway
        })),
      )
    }

    if (run('idle')) {
      phase(`idle: ${settings.idleEvents} more events on sale, nobody queuing`)
      const idle = await idlePhase({
        redis: stores.redis,
        gatewayPid: runningGateway.process.pid as number,
        events: settings.idleEvents,
        seconds: settings.seconds,
        createEvents: (count) => createIdleEvents(adminApi(booking.url), count),
      })
      const cost = (c: IdleCost) =>
        `gateway ${c.gatewayCore.toFixed(1)} % of a core, Redis ${Math.round(c.redisCommandsPerSecond).toLocaleString('en-US')} commands/s (${c.redisCore.toFixed(1)} % of a core)`
      console.log(`  before: ${cost(idle.before)}\n  after:  ${cost(idle.after)}`)
      const perEvent = (idle.after.redisCommandsPerSecond - idle.before.redisCommandsPerSecond) / idle.events
      rows.idle.push(
        { figure: 'idle stack (the events above)', value: cost(idle.before) },
        { figure: `idle stack, ${idle.events} more events nobody queues for`, value: cost(idle.after) },
        { figure: 'Redis commands/s per added idle event', value: perEvent.toFixed(1) },
      )
    }

    phase('done')
    printTable([
      ...rows.floor,
      ...rows.purchases,
      ...rows.reads,
      ...rows.poll,
      ...rows.joins,
      ...rows.waiters,
      ...rows.sse,
      ...rows.idle,
    ])
    if (!correct) {
      // Speed targets are figures to read; a broken money or seat promise fails the run.
      console.log('\n!! a seat or money invariant does not hold after the purchases (see the table)')
      process.exitCode = 1
    }
    if ((run('waiters') && settings.waiters < 1_000_000) || (run('sse') && large < 20_000)) {
      console.log(
        '\n(smaller than the acceptance scale: BENCH_WAITERS or the stream count was reduced; the verdicts are indicative)',
      )
    }
    if (runPhases.size < PHASES.length) console.log(`\n(only the phases ${[...runPhases].join(', ')})`)
    console.log(`\ntotal ${((performance.now() - runStarted) / 1000).toFixed(0)} s`)
  } finally {
    await cleanup()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
