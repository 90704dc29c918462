import { loadQueueSettings, loadQueueTuning, type QueueSettings, type QueueTuning } from '@concert/queue'
import { type Env, loadServiceConfig, readInt, type ServiceConfig } from '@concert/shared'

export interface GatewayConfig extends ServiceConfig {
  queue: QueueSettings
  /** Engine tunables (batch sizes, takeover times). */
  queueTuning: QueueTuning
  /** How often each gateway copy runs the admission script. */
  admitIntervalMs: number
  /** Token issuance requests per client IP per minute. */
  issueRateLimitPerMinute: number
  trustProxy: boolean
  /** Open SSE streams allowed per queue token and per client IP, over all gateway copies. */
  sseStreamsPerToken: number
  sseStreamsPerIp: number
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return {
    ...loadServiceConfig(env, 'GATEWAY_PORT', 3000),
    queue: loadQueueSettings(env),
    queueTuning: loadQueueTuning(env),
    admitIntervalMs: readInt(env, 'QUEUE_ADMIT_INTERVAL_MS', 100, { min: 10, max: 10_000 }),
    issueRateLimitPerMinute: readInt(env, 'ISSUE_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 10_000_000 }),
    trustProxy: readInt(env, 'TRUST_PROXY', 0, { min: 0, max: 1 }) === 1,
    sseStreamsPerToken: readInt(env, 'SSE_STREAMS_PER_TOKEN', 3, { min: 1, max: 100 }),
    sseStreamsPerIp: readInt(env, 'SSE_STREAMS_PER_IP', 50, { min: 1, max: 1_000_000 }),
  }
}
