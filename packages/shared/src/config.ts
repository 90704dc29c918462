import { configProblem, type Env, readEnum, readInt, readString, readUrl } from './env.js'

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/concert'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** Settings every process shares: where the stores are and how to log. */
export interface InfraConfig {
  mysqlUrl: string
  redisUrl: string
  /** REDIS_URL is a seed node of a Redis Cluster. */
  redisCluster: boolean
  /**
   * A command not answered within this long fails (503 for its request), and a connection
   * with commands waiting that receives nothing for this long is dropped and opened again:
   * see createRedis.
   */
  redisTimeoutMs: number
  /** Prepended to every Redis key; lets several deployments (or test files) share one Redis. */
  redisKeyPrefix: string
  dbPoolSize: number
  /**
   * A MySQL statement not answered within this long fails (503 for its request) and its
   * connection is dropped: a MySQL gone silent costs this much, not until TCP gives up.
   * Must exceed the longest statement, lock waits included (innodb_lock_wait_timeout).
   */
  dbQueryTimeoutMs: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

export function loadInfraConfig(env: Env = process.env): InfraConfig {
  return {
    mysqlUrl: readUrl(env, 'MYSQL_URL', DEFAULT_MYSQL_URL, ['mysql:']),
    redisUrl: readUrl(env, 'REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    redisCluster: readInt(env, 'REDIS_CLUSTER', 0, { min: 0, max: 1 }) === 1,
    redisTimeoutMs: readInt(env, 'REDIS_TIMEOUT_MS', 10_000, { min: 1_000, max: 600_000 }),
    redisKeyPrefix: readString(env, 'REDIS_KEY_PREFIX', 'concert:'),
    dbPoolSize: readInt(env, 'DB_POOL_SIZE', 10, { min: 1, max: 500 }),
    dbQueryTimeoutMs: readInt(env, 'DB_QUERY_TIMEOUT_MS', 60_000, { min: 1_000, max: 3_600_000 }),
    logLevel: readEnum(env, 'LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
  }
}

/**
 * How long a client may take, so slow or silent clients cannot hold sockets
 * open for ever (a body sent 1 byte every 5 s, headers that never end).
 */
export interface HttpTimeouts {
  /**
   * The whole request (headers and body) must have arrived by then, or 408. It does
   * not limit the response: an SSE stream answers a request that arrived long ago.
   */
  requestMs: number
  /** The headers must have arrived by then, or 408; at most `requestMs`. */
  headersMs: number
  /** A connection on which no byte moves either way for this long is closed. */
  connectionMs: number
  /** An idle keep-alive connection between two requests is closed after this long. */
  keepAliveMs: number
}

export interface HttpConfig {
  host: string
  port: number
  /** Browser origins allowed to call the API (CORS): none, '*' for any, or a list. */
  corsOrigins: string[] | '*'
  timeouts: HttpTimeouts
}

function readOrigins(env: Env): string[] | '*' {
  const value = readString(env, 'CORS_ORIGINS', '')
  if (value === '*') return '*'
  const origins = value
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean)
  const bad = origins.find((origin) => !/^https?:\/\/[^/\s]+$/.test(origin))
  if (bad !== undefined) {
    return configProblem(
      env,
      `CORS_ORIGINS must be '*' or comma-separated origins like https://tickets.example, got "${bad}"`,
      [],
    )
  }
  return origins
}

export function loadHttpTimeouts(env: Env): HttpTimeouts {
  const requestMs = readInt(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, { min: 500, max: 600_000 })
  const headersMs = readInt(env, 'HTTP_HEADERS_TIMEOUT_MS', Math.min(10_000, requestMs), {
    min: 500,
    max: 600_000,
  })
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (headersMs > requestMs) {
    configProblem(
      env,
      `HTTP_HEADERS_TIMEOUT_MS (${headersMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestMs})`,
      undefined,
    )
  }
  return {
    requestMs,
    headersMs,
    // At least 20 s: an idle SSE stream writes a heartbeat every 15 s and must not be cut between two.
    connectionMs: readInt(env, 'HTTP_CONNECTION_TIMEOUT_MS', 60_000, { min: 20_000, max: 3_600_000 }),
    // Fastify's default: longer than the 60 s idle timeout of common load balancers, so the balancer
    // closes an idle connection first and never reuses one we are closing (a 502 for the fan).
    keepAliveMs: readInt(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, { min: 1_000, max: 3_600_000 }),
  }
}

export function loadHttpConfig(env: Env, portVariable: string, defaultPort: number): HttpConfig {
  return {
    // Loopback unless told otherwise: a development machine does not publish its apps by accident.
    // The image sets HOST=0.0.0.0.
    host: readString(env, 'HOST', '127.0.0.1'),
    port: readInt(env, portVariable, defaultPort, { min: 0, max: 65535 }),
    corsOrigins: readOrigins(env),
    timeouts: loadHttpTimeouts(env),
  }
}

/** "mysql://root@127.0.0.1:3306/concert" → "127.0.0.1:3306", for messages that must not leak passwords. */
export function describeAddress(url: string): string {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'mysql:' ? '3306' : '6379')}`
}

/** Where the keys that sign account JWTs come from (SPEC §11). */
export type AccountKeySource =
  /** The identity provider's public keys (asymmetric algorithms only), fetched and cached. */
  | { kind: 'jwks'; jwksUrl: string }
  /** A secret shared with the issuer (HS256 only). */
  | { kind: 'secret'; secret: string }

/** Who may act for an account: off (v1, anyone naming it) or a JWT whose `sub` is the account id. */
export interface AuthConfig {
  /** Undefined: accounts are not authenticated (development and the demo). */
  keys: AccountKeySource | undefined
  /** Required `iss` claim, when set. */
  issuer: string | undefined
  /** Required `aud` claim, when set. */
  audience: string | undefined
  /** Leeway for `exp` and `nbf` against clock drift between the issuer and us. */
  clockToleranceSeconds: number
}

/** HS256 keys shorter than the hash output (32 bytes) are brute-forceable. */
const MIN_SECRET_LENGTH = 32

export function loadAuthConfig(env: Env = process.env): AuthConfig {
  const jwksUrl = readString(env, 'AUTH_JWKS_URL', '')
  const secret = readString(env, 'AUTH_JWT_SECRET', '')
  if (jwksUrl && secret) {
    configProblem(env, 'set AUTH_JWKS_URL or AUTH_JWT_SECRET, not both', undefined)
  }
  if (secret && secret.length < MIN_SECRET_LENGTH) {
    configProblem(env, `AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`, undefined)
  }
  let keys: AccountKeySource | undefined
  if (jwksUrl) keys = { kind: 'jwks', jwksUrl: readUrl(env, 'AUTH_JWKS_URL', '', ['https:', 'http:']) }
  else if (secret) keys = { kind: 'secret', secret }
  return {
    keys,
    issuer: readString(env, 'AUTH_ISSUER', '') || undefined,
    audience: readString(env, 'AUTH_AUDIENCE', '') || undefined,
    clockToleranceSeconds: readInt(env, 'AUTH_CLOCK_TOLERANCE_SECONDS', 30, { min: 0, max: 60 }),
  }
}

/** How a process behaves for its operator: load shedding, logs, what build it is. */
export interface OpsConfig {
  /**
   * Event-loop delay (ms) past which requests are answered 503 with Retry-After instead
   * of queueing behind a stalled loop; 0 turns shedding off.
   */
  maxEventLoopDelayMs: number
  /** The build's revision (a commit id), shown by the `app_build_info` metric. */
  buildRevision: string
  /**
   * Human-readable logs (pino-pretty) wanted: with NODE_ENV=development, or on a terminal
   * outside CI and tests. Never in production, where logs are JSON lines for a collector.
   * Only where pino-pretty is installed (a dev dependency): else JSON lines all the same.
   */
  prettyLogs: boolean
}

export function loadOpsConfig(
  env: Env = process.env,
  stdoutIsTty = process.stdout.isTTY === true,
): OpsConfig {
  const nodeEnv = readString(env, 'NODE_ENV', '')
  const ci = readString(env, 'CI', '')
  const inCi = ci !== '' && ci !== 'false' && ci !== '0'
  return {
    maxEventLoopDelayMs: readInt(env, 'MAX_EVENT_LOOP_DELAY_MS', 1_000, { min: 0, max: 60_000 }),
    buildRevision: readString(env, 'BUILD_REVISION', 'dev'),
    prettyLogs: nodeEnv === 'development' || (stdoutIsTty && nodeEnv === '' && !inCi),
  }
}

/** What every app process reads: where the stores are, where to listen, and who may act for an account. */
export interface ServiceConfig {
  infra: InfraConfig
  http: HttpConfig
  auth: AuthConfig
  ops: OpsConfig
}

export function loadServiceConfig(env: Env, portVariable: string, defaultPort: number): ServiceConfig {
  return {
    infra: loadInfraConfig(env),
    http: loadHttpConfig(env, portVariable, defaultPort),
    auth: loadAuthConfig(env),
    ops: loadOpsConfig(env),
  }
}
