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

/** Engine tunables (not per event): how big each step is and how fast a dead process's work is taken over. */
export interface QueueTuning {
  /** Most tokens one admission tick moves per step; keeps each script run short. */
  admitBatch: number
  /** Stream entries one mirror batch writes to MySQL. */
  mirrorBatchSize: number
  /** A mirror entry left unacknowledged this long by a (dead) gateway copy is taken over by another. */
  mirrorClaimIdleMs: number
  /**
   * Unmirrored stream entries (per event) at which joins answer 503 and admission
   * pauses: bounds what a Redis loss while MySQL lags could undo. The default is
   * about 2 s of peak joins (one gateway took ≈ 2,000 joins/s in the benchmark).
   */
  mirrorMaxBacklog: number
  /** TTL of recovery's lock; kept alive while the rebuild runs, so only a dead rebuilder lets it lapse. */
  recoveryLockTtlMs: number
  /**
   * How long a sold seat keeps its SOLD marker in Redis, answering its would-be buyers
   * without MySQL; after that (or a Redis loss) the database's UNIQUE key answers them.
   */
  soldSeatMarkerMs: number
}

export const DEFAULT_QUEUE_TUNING: QueueTuning = {
  admitBatch: 1_000,
  mirrorBatchSize: 500,
  mirrorClaimIdleMs: 5_000,
  mirrorMaxBacklog: 4_000,
  recoveryLockTtlMs: 30_000,
  soldSeatMarkerMs: 600_000,
}

export function loadQueueTuning(env: Env = process.env): QueueTuning {
  const d = DEFAULT_QUEUE_TUNING
  return {
    admitBatch: readInt(env, 'QUEUE_ADMIT_BATCH', d.admitBatch, { min: 1, max: 100_000 }),
    mirrorBatchSize: readInt(env, 'MIRROR_BATCH_SIZE', d.mirrorBatchSize, { min: 1, max: 10_000 }),
    mirrorClaimIdleMs: readInt(env, 'MIRROR_CLAIM_IDLE_MS', d.mirrorClaimIdleMs, { min: 100, max: 600_000 }),
    mirrorMaxBacklog: readInt(env, 'MIRROR_MAX_BACKLOG', d.mirrorMaxBacklog, { min: 1, max: 10_000_000 }),
    recoveryLockTtlMs: readInt(env, 'RECOVERY_LOCK_TTL_MS', d.recoveryLockTtlMs, { min: 300, max: 600_000 }),
    soldSeatMarkerMs: readInt(env, 'SOLD_SEAT_MARKER_MS', d.soldSeatMarkerMs, {
      min: 1_000,
      max: 86_400_000,
    }),
  }
}
