import { randomInt, randomUUID } from 'node:crypto'
import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import type { EventKeys } from './keys.js'
import { withLock } from './lock.js'
import { lockEpochForDraw, recordDrawn } from './queue-epochs.repository.js'
import { placesOf, recordDrawnPlaces } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { needsRecovery } from './replies.js'
import { defineQueueCommands } from './scripts.js'

/** A uniformly random permutation (Fisher–Yates over a CSPRNG). */
export function shuffled<T>(values: readonly T[]): T[] {
  const out = [...values]
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

/**
 * The pre-queue draw (SPEC §8): at opening, everyone who joined during the
 * pre-queue gets a place in a uniformly random order, so arriving early (or
 * with a fast script) in that window gives no edge. Exactly once, even with
 * many gateway copies (the event's draw lock, then the drawn flags), and
 * durable before anyone sees it: the order is committed to QUEUE_TOKEN (with
 * QUEUE_EPOCH.drawn_at, under the epoch fence) and only then applied in Redis
 * by draw-4.lua. A copy that died between the two finds the order recorded
 * and applies that one; a rebuild restores the recorded places.
 */
export class PreQueueDraw {
  constructor(
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
  ) {
    defineQueueCommands(redis)
  }

  /** Draws the event's pre-queue if the sale has opened and it is not drawn yet; how many tokens were placed. */
  async drawIfDue(keys: EventKeys): Promise<number> {
    const outcome = await withLock(this.redis, keys.drawing, randomUUID(), 10_000, () => this.draw(keys))
    return outcome.locked ? outcome.value : 0
  }

  private async draw(keys: EventKeys): Promise<number> {
    const [drawn, last, epoch] = await Promise.all([
      this.redis.hget(keys.sale, 'drawn'),
      this.redis.hget(keys.sale, 'prequeueLast'),
      this.redis.get(keys.marker),
    ])
    if (drawn === '1' || epoch === null) return 0
    // The pre-queue: waiting tokens with a provisional place up to the last one handed out before opening.
    const members = await this.redis.zrangebyscore(keys.waiting, 1, Number(last ?? 0), 'WITHSCORES')
    const tokens: string[] = []
    const places: number[] = []
    for (let i = 0; i + 1 < members.length; i += 2) {
      tokens.push(members[i] as string)
      places.push(Number(members[i + 1]))
    }
    const order = await this.db.transaction().execute(async (trx) => {
      const fence = await lockEpochForDraw(trx, keys.eventId)
      if (fence.epoch !== Number(epoch)) {
        throw new AppError('SERVICE_UNAVAILABLE', 'the queue is being restored', { retryAfter: 1 })
      }
      if (fence.drawnAt !== null) {
        // Drawn and recorded already (by a copy that stopped before applying it): apply that order.
        const recorded = await placesOf(trx, tokens)
        return tokens.flatMap((token) => {
          const place = recorded.get(token)
          return place === undefined ? [] : [[token, place] as [string, number]]
        })
      }
      const drawnPlaces = shuffled(places)
      const assignment = tokens.map((token, i) => [token, drawnPlaces[i] as number] as [string, number])
      await recordDrawnPlaces(trx, assignment)
      await recordDrawn(trx, keys.eventId)
      return assignment
    })
    const reply = await this.redis.queueDraw(
      keys.marker,
      keys.waiting,
      keys.sale,
      keys.stream,
      keys.records,
      keys.accounts,
      order.flatMap(([token, place]) => [token, String(place)]),
    )
    if (needsRecovery(reply)) return 0
    return Number(reply[1] ?? 0)
  }
}
