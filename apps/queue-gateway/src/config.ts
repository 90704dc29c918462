import {
  type Env,
  type HttpConfig,
  type InfraConfig,
  loadHttpConfig,
  loadInfraConfig,
  readInt,
} from '@concert/shared'

export interface QueueSettings {
  /** READY tokens allowed at once per event. */
  maxActive: number
  /** Admissions per second per event, for the whole cluster. */
  admitPerSecond: number
  /** How long a READY token may be used to buy. */
  activeTtlSeconds: number
  /** A WAITING token not polled for this long is dropped. */
  waitingIdleSeconds: number
  /** How long EXPIRED tokens still answer polls. */
  expiredRetentionSeconds: number
}

export interface GatewayConfig {
  infra: InfraConfig
  http: HttpConfig
  queue: QueueSettings
  /** How often each gateway copy runs the admit script. */
  admitIntervalMs: number
  /** Token issuance requests per client IP per minute. */
  issueRateLimitPerMinute: number
  trustProxy: boolean
}

export function loadQueueSettings(env: Env): QueueSettings {
  return {
    maxActive: readInt(env, 'QUEUE_MAX_ACTIVE', 200, { min: 1, max: 1_000_000 }),
    admitPerSecond: readInt(env, 'QUEUE_ADMIT_PER_SECOND', 50, { min: 1, max: 100_000 }),
    activeTtlSeconds: readInt(env, 'QUEUE_ACTIVE_TTL_SECONDS', 300, { min: 1, max: 86_400 }),
    waitingIdleSeconds: readInt(env, 'QUEUE_WAITING_IDLE_SECONDS', 120, { min: 1, max: 86_400 }),
    expiredRetentionSeconds: readInt(env, 'QUEUE_EXPIRED_RETENTION_SECONDS', 900, { min: 600, max: 604_800 }),
  }
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return {
    infra: loadInfraConfig(env),
    http: loadHttpConfig(env, 'GATEWAY_PORT', 3000),
    queue: loadQueueSettings(env),
    admitIntervalMs: readInt(env, 'QUEUE_ADMIT_INTERVAL_MS', 100, { min: 10, max: 10_000 }),
    issueRateLimitPerMinute: readInt(env, 'ISSUE_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 10_000_000 }),
    trustProxy: readInt(env, 'TRUST_PROXY', 0, { min: 0, max: 1 }) === 1,
  }
}
