import { loadQueueSettings, loadQueueTuning, type QueueSettings, type QueueTuning } from '@concert/queue'
import {
  type Env,
  loadServiceConfig,
  readInt,
  readString,
  readUrl,
  type ServiceConfig,
} from '@concert/shared'
import type { ExistenceCacheOptions } from './existence-cache.js'
import type { WebAppOptions } from './plugins/web-app.js'

export interface GatewayConfig extends ServiceConfig {
  queue: QueueSettings
  /** Engine tunables (batch sizes, takeover times). */
  queueTuning: QueueTuning
  /** How often each gateway copy runs the admission script. */
  admitIntervalMs: number
  /** How often each copy re-reads which events exist (new events get an admission loop). */
  eventsRefreshMs: number
  /**
   * How often an OPEN sale nobody waits for gets an admission tick anyway: a join through
   * this copy wakes its event at once; this covers one through a copy that went away first.
   */
  idleRecheckMs: number
  /** Token issuance requests per client IP per `issueRateLimitWindowMs`. */
  issueRateLimitPerMinute: number
  /** The rate limiter's window. */
  issueRateLimitWindowMs: number
  trustProxy: boolean
  /** Open SSE streams allowed per queue token and per client IP, over all gateway copies. */
  sseStreamsPerToken: number
  sseStreamsPerIp: number
  /** How often each event's SSE feed is read (once per event for all its streams on this copy). */
  sseTickMs: number
  /** Which event ids exist, as the join route checks them. */
  knownEvents: ExistenceCacheOptions
  /** Which account ids exist, as the join route checks them. */
  knownAccounts: ExistenceCacheOptions
  /** The fan web app served under `/` (WEB_DIST), or none. */
  web: WebAppOptions | undefined
}

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

function readExistenceCache(
  env: Env,
  name: 'KNOWN_EVENTS' | 'KNOWN_ACCOUNTS',
  defaults: ExistenceCacheOptions,
): ExistenceCacheOptions {
  return {
    hitTtlMs: readInt(env, `${name}_TTL_MS`, defaults.hitTtlMs, { min: 0, max: HOUR_MS }),
    missTtlMs: readInt(env, `${name}_MISS_TTL_MS`, defaults.missTtlMs, { min: 0, max: HOUR_MS }),
    maxEntries: readInt(env, `${name}_MAX`, defaults.maxEntries, { min: 1, max: 10_000_000 }),
  }
}

function readWebApp(env: Env): WebAppOptions | undefined {
  const dist = readString(env, 'WEB_DIST', '')
  if (!dist) return undefined
  return { dist, bookingUrl: readUrl(env, 'WEB_BOOKING_URL', 'http://localhost:3001', ['http:', 'https:']) }
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return {
    ...loadServiceConfig(env, 'GATEWAY_PORT', 3000),
    queue: loadQueueSettings(env),
    queueTuning: loadQueueTuning(env),
    admitIntervalMs: readInt(env, 'QUEUE_ADMIT_INTERVAL_MS', 100, { min: 10, max: 10_000 }),
    eventsRefreshMs: readInt(env, 'QUEUE_EVENTS_REFRESH_MS', 5_000, { min: 100, max: HOUR_MS }),
    idleRecheckMs: readInt(env, 'QUEUE_IDLE_RECHECK_MS', 5_000, { min: 100, max: HOUR_MS }),
    issueRateLimitPerMinute: readInt(env, 'ISSUE_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 10_000_000 }),
    issueRateLimitWindowMs: readInt(env, 'ISSUE_RATE_LIMIT_WINDOW_MS', MINUTE_MS, {
      min: 1_000,
      max: HOUR_MS,
    }),
    trustProxy: readInt(env, 'TRUST_PROXY', 0, { min: 0, max: 1 }) === 1,
    sseStreamsPerToken: readInt(env, 'SSE_STREAMS_PER_TOKEN', 3, { min: 1, max: 100 }),
    sseStreamsPerIp: readInt(env, 'SSE_STREAMS_PER_IP', 50, { min: 1, max: 1_000_000 }),
    sseTickMs: readInt(env, 'SSE_TICK_MS', 500, { min: 50, max: HOUR_MS }),
    // Events are few and rarely added; accounts are many, and a join needs its account to exist.
    knownEvents: readExistenceCache(env, 'KNOWN_EVENTS', {
      hitTtlMs: MINUTE_MS,
      missTtlMs: 5_000,
      maxEntries: 10_000,
    }),
    knownAccounts: readExistenceCache(env, 'KNOWN_ACCOUNTS', {
      hitTtlMs: 5 * MINUTE_MS,
      missTtlMs: 2_000,
      maxEntries: 500_000,
    }),
    web: readWebApp(env),
  }
}
