import { type Env, readInt } from '@concert/shared'

/** Queue behaviour per event (SPEC §4 defaults), shared by the gateway and the booking API. */
export interface QueueSettings {
  /** READY tokens allowed at once per event. */
  maxActive: number
  /** Admissions per second per event, for the whole cluster. */
  admitPerSecond: number
  /** How long a READY token may be used to buy. */
  activeTtlSeconds: number
  /** A WAITING token not polled for this long is dropped (ABANDONED). */
  waitingIdleSeconds: number
  /** How long EXPIRED tokens still answer polls. */
  expiredRetentionSeconds: number
}

export function loadQueueSettings(env: Env = process.env): QueueSettings {
  return {
    maxActive: readInt(env, 'QUEUE_MAX_ACTIVE', 200, { min: 1, max: 1_000_000 }),
    admitPerSecond: readInt(env, 'QUEUE_ADMIT_PER_SECOND', 50, { min: 1, max: 100_000 }),
    activeTtlSeconds: readInt(env, 'QUEUE_ACTIVE_TTL_SECONDS', 300, { min: 1, max: 86_400 }),
    waitingIdleSeconds: readInt(env, 'QUEUE_WAITING_IDLE_SECONDS', 120, { min: 1, max: 86_400 }),
    expiredRetentionSeconds: readInt(env, 'QUEUE_EXPIRED_RETENTION_SECONDS', 900, { min: 600, max: 604_800 }),
  }
}
