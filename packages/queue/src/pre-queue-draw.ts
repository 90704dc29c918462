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

/** Pre-queue places read from Redis per command, and drawn places applied per script run. */
const READ_SLICE = 10_000
export const DRAW_SLICE = 1_000

/** A fan's drawn place, and whether its QUEUE_TOKEN row was missing when the order was recorded. */
type Drawn = [token: string, place: number, unwritten: boolean]

export interface PreQueueDrawOptions {
  /** Tokens per run of draw-4.lua (DRAW_SLICE). */
  slice?: number
  /** Called after each slice but the last has been applied (tests look at the queue mid-draw). */
  afterSlice?: () => Promise<void>
}

/**
 * The pre-queue draw (SPEC §8): at opening, everyone who joined during the
 * pre-queue gets a place in a uniformly random order, so arriving early (or
 * with a fast script) in that window gives no edge. Exactly once, even with
 * many gateway copies (the event's draw lock, then the drawn flags), and
 * durable before anyone sees it: the order is committed to QUEUE_TOKEN (with
 * QUEUE_EPOCH.drawn_at, under the epoch fence) and only then applied in Redis
 * by draw-4.lua, a slice of DRAW_SLICE fans per run: a pre-queue of 100,000 fans
 * held Redis for seconds in one script, and put 100,000 records in the mirror's
 * stream, past the backlog bound that holds joins and admission back. A copy that
 * died before the last slice finds the order recorded and applies that one; a
 * rebuild restores the recorded places.
 */
export class PreQueueDraw {
  private readonly slice: number

  constructor(
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly options: PreQueueDrawOptions = {},
  ) {
    defineQueueCommands(redis)
    this.slice = options.slice ?? DRAW_SLICE
  }

  /** Draws the event's pre-queue if the sale has opened and it is not drawn yet; how many tokens were placed. */
  async drawIfDue(keys: EventKeys): Promise<number> {
    const outcome = await withLock(this.redis, keys.drawing, randomUUID(), 10_000, () => this.draw(keys))
    return outcome.locked ? outcome.value : 0
  }

  /** The pre-queue: waiting tokens with a provisional place up to the last one handed out before opening. */
  private async preQueue(keys: EventKeys, last: number): Promise<{ tokens: string[]; places: number[] }> {
    const tokens: string[] = []
    const places: number[] = []
    for (let from = 1; from <= last; from += READ_SLICE) {
      const to = Math.min(last, from + READ_SLICE - 1)
      const members = await this.redis.zrangebyscore(keys.waiting, from, to, 'WITHSCORES')
      for (let i = 0; i + 1 < members.length; i += 2) {
        tokens.push(members[i] as string)
        places.push(Number(members[i + 1]))
      }
    }
    return { tokens, places }
  }

  private async draw(keys: EventKeys): Promise<number> {
    const [drawn, last, epoch] = await Promise.all([
      this.redis.hget(keys.sale, 'drawn'),
      this.redis.hget(keys.sale, 'prequeueLast'),
      this.redis.get(keys.marker),
    ])
    if (drawn === '1' || epoch === null) return 0
    const { tokens, places } = await this.preQueue(keys, Number(last ?? 0))
    const order = await this.db.transaction().execute(async (trx): Promise<Drawn[]> => {
      const fence = await lockEpochForDraw(trx, keys.eventId)
      if (fence.epoch !== Number(epoch)) {
        throw new AppError('SERVICE_UNAVAILABLE', 'the queue is being restored', { retryAfter: 1 })
      }
      const recorded = await placesOf(trx, tokens)
      if (fence.drawnAt !== null) {
        // Drawn and recorded already (by a copy that stopped before its last slice): apply that order.
        return tokens.flatMap((token) => {
          const place = recorded.get(token)
          return place === undefined ? [] : [[token, place, false] as Drawn]
        })
      }
      const drawnPlaces = shuffled(places)
      const assignment = tokens.map((token, i) => [token, drawnPlaces[i] as number] as [string, number])
      await recordDrawnPlaces(trx, assignment)
      await recordDrawn(trx, keys.eventId)
      return assignment.map(([token, place]) => [token, place, !recorded.has(token)])
    })
    let placed = 0
    for (let start = 0; start === 0 || start < order.length; start += this.slice) {
      const final = start + this.slice >= order.length
      const reply = await this.redis.queueDraw(
        keys.marker,
        keys.waiting,
        keys.sale,
        keys.stream,
        keys.records,
        keys.accounts,
        final ? '1' : '0',
        order
          .slice(start, start + this.slice)
          .flatMap(([token, place, unwritten]) => [token, String(place), unwritten ? '1' : '0']),
      )
      // Redis lost the queue: the rebuild restores the recorded order (and the drawn mark).
      if (needsRecovery(reply)) return placed
      placed += Number(reply[1] ?? 0)
      if (!final) await this.options.afterSlice?.()
    }
    return placed
  }
}
