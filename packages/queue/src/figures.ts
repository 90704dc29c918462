import type { EffectiveQueueSettings, QueueService } from './queue.js'
import type { TokenTotals } from './queue-tokens.repository.js'
import type { SaleState } from './sale-state.js'

/**
 * The queue's part of an event's live figures (SPEC §7 `GET /v1/admin/events/{id}/queue`,
 * named as there): the operator API answers them (with the catalogue's seats), and the
 * gateway's per-event metrics show them, so the two can never disagree on what a figure means.
 */
export interface QueueFigures {
  state: SaleState
  settings: EffectiveQueueSettings
  waiting: number
  ready: number
  admittedLastMinute: number
  joinedTotal: number
  completedTotal: number
  abandonedTotal: number
  timedOutTotal: number
  leftTotal: number
  oldestWaiterSeconds: number
  mirrorLagSeconds: number
}

/**
 * One status read of the event's queue in Redis (QueueService.status) and its totals
 * from `totals` (a count over QUEUE_TOKEN, which a caller may cache); undefined: no such event.
 */
export async function queueFigures(
  queue: QueueService,
  eventId: number,
  totals: (eventId: number) => Promise<TokenTotals>,
): Promise<QueueFigures | undefined> {
  const [live, counted] = await Promise.all([queue.status(eventId), totals(eventId)])
  if (!live) return undefined
  return {
    state: live.state,
    settings: live.settings,
    waiting: live.waiting,
    ready: live.ready,
    admittedLastMinute: live.admittedLastMinute,
    joinedTotal: counted.joined,
    completedTotal: counted.completed,
    abandonedTotal: counted.abandoned,
    timedOutTotal: counted.timedOut,
    leftTotal: counted.left,
    oldestWaiterSeconds: live.oldestWaiterSeconds,
    mirrorLagSeconds: live.mirrorLagSeconds,
  }
}
