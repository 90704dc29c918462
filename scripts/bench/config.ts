import { DEFAULT_MYSQL_URL } from '@concert/shared'

/** Every knob of `pnpm bench`, read once from the environment (defaults: the full run of ~15 min). */
function int(name: string, fallback: number, least = 1): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw.replaceAll('_', '').replaceAll(',', ''))
  if (!Number.isInteger(value) || value < least)
    throw new Error(`${name} must be an integer of at least ${least}, got "${raw}"`)
  return value
}

const purchases = int('BENCH_PURCHASES', 3_000)

export const settings = {
  /** Seconds of load per read path (and for the hello-world floor). */
  seconds: int('BENCH_SECONDS', 10),
  /**
   * Seconds of the same requests sent before each measured load of a duration (the
   * hello-worlds, the read paths, the polls, the steady losers), left out of its figures
   * (load.ts warmUp); 0 measures code V8 has not compiled yet.
   */
  warmUpSeconds: int('BENCH_WARM_UP_SECONDS', 3, 0),
  /**
   * Rounds of a ratio to the hello-world (seat map, poll): the two alternate, so each
   * round's ratio comes from windows side by side (load.ts alternate); the figure is
   * their median. Each round lasts BENCH_RATIO_SECONDS per side.
   */
  ratioRounds: int('BENCH_RATIO_ROUNDS', 3),
  ratioRoundSeconds: int('BENCH_RATIO_SECONDS', 5),
  /** autocannon connections of the read paths and the HTTP floor. */
  connections: int('BENCH_CONNECTIONS', 50),
  /** New accounts (with their identity JWT) the join phase spends, one per request. */
  joinAccounts: int('BENCH_JOIN_ACCOUNTS', 30_000),
  /** Joins of accounts of their own sent before the measured ones, left out of the figures. */
  joinWarmUps: int('BENCH_JOIN_WARM_UPS', 5_000, 0),
  /** Distinct seats (= READY tokens) bought by the reserve+pay phase, and as many by its floor. */
  purchases,
  /**
   * Purchases made over HTTP before reserve+pay, on a show of their own, and as many by
   * the floor before its own (on another), left out of the figures (at most BENCH_PURCHASES,
   * and as many by default: after 1,000 the booking API's CPU per purchase was still falling,
   * 2,090 µs cold → 1,567 after 1,000 → 1,230 after 3,000, the floor's 1,427 → 1,022 → 876).
   */
  purchaseWarmUps: int('BENCH_PURCHASE_WARM_UPS', purchases, 0),
  /** Connections of the reserve+pay phase and its floor. */
  purchaseConnections: int('BENCH_PURCHASE_CONNECTIONS', 50),
  /** Racers for one seat. */
  hotSeatRacers: int('BENCH_HOT_SEAT_RACERS', 200),
  /**
   * Bursts of the same shape, each for a seat of its own, run before the measured hot seat
   * (and before its hello-world floor burst), left out of every figure: 0 measures the
   * first burst a fresh process serves, whose code V8 has not compiled yet.
   */
  hotSeatWarmUps: int('BENCH_HOT_SEAT_WARM_UPS', 5, 0),
  /** Shows of the event whose dates are listed. */
  shows: int('BENCH_SHOWS', 200),
  /** Waiters of the big queue. */
  waiters: int('BENCH_WAITERS', 1_000_000),
  /** Streams of the small and the large SSE step. */
  sseSmall: int('BENCH_SSE_STREAMS_SMALL', 1_000),
  sseLarge: int('BENCH_SSE_STREAMS', 20_000),
  /** Seconds over which Redis commands/s are counted in the SSE phase. */
  sseWindowSeconds: int('BENCH_SSE_SECONDS', 10),
  /** Events on sale that nobody queues for, added in the idle phase. */
  idleEvents: int('BENCH_IDLE_EVENTS', 200),
  /** The booking API's DB_POOL_SIZE, and so the purchase floor's pool size. */
  dbPoolSize: int('BENCH_DB_POOL_SIZE', 10),
}

if (settings.purchases < settings.ratioRounds)
  throw new Error(
    'BENCH_PURCHASES must be at least BENCH_RATIO_ROUNDS (each round buys a share of the seats)',
  )
if (settings.purchaseWarmUps > settings.purchases)
  throw new Error(
    'BENCH_PURCHASE_WARM_UPS must be at most BENCH_PURCHASES (the warm-ups buy the same seats on other shows)',
  )

/** The phases `pnpm bench` runs, in this order; BENCH_PHASES picks some (comma-separated). */
export const PHASES = ['reads', 'joins', 'purchases', 'waiters', 'sse', 'idle'] as const
export type Phase = (typeof PHASES)[number]

function phases(): ReadonlySet<Phase> {
  const raw = process.env.BENCH_PHASES
  if (raw === undefined || raw.trim() === '') return new Set(PHASES)
  const picked = raw
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
  for (const name of picked) {
    if (!(PHASES as readonly string[]).includes(name))
      throw new Error(`BENCH_PHASES: unknown phase "${name}" (phases: ${PHASES.join(', ')})`)
  }
  return new Set(picked as Phase[])
}

/**
 * Extra flags for the gateway's and the booking API's `node` (BENCH_NODE_FLAGS, split at
 * spaces), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them; none by default.
 */
export const appNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)

/** The phases of this run (default: all). */
export const runPhases = phases()

export const stamp = Date.now()
export const databaseName = `concert_bench_${stamp}`
const server = new URL(process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL)
server.pathname = `/${databaseName}`
export const mysqlUrl = server.toString()
export const redisPrefix = `bench:${stamp}:`
/** HS256 secret for the account JWTs of this run (both apps check them, SPEC §11). */
export const jwtSecret = `bench-secret-${stamp}-${Math.random().toString(36).slice(2)}`
export const adminKey = `bench-admin-key-${stamp}`
