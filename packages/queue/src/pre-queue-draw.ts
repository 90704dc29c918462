import { randomInt, randomUUID } from 'node:crypto'
import type { Database } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import type { EventKeys } from './keys.js'
import { withLock } from './lock.js'
import { holdEpochForDraw, recordDrawn } from './queue-epochs.repository.js'
import { placesOf, recordDrawnPlaces, retryTokenWrite, writeTokenStates } from './queue-tokens.repository.js'
import type { RedisClient } from './redis-client.js'
import { needsRecovery } from './replies.js'
import { defineQueueCommands } from './scripts.js'
import { fromWaitingLine, type TokenState } from './token-state.js'

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

export interface PreQueueDrawOptions {
  /** Tokens per run of draw-3.lua (DRAW_SLICE). */
  slice?: number
  /** Called after each slice but the last has been applied (tests look at the queue mid-draw). */
  afterSlice?: () => Promise<void>
  /** Called in the draw's transaction once every place is written, before the draw is recorded (tests). */
  beforeRecorded?: () => Promise<void>
}

/**
 * The pre-queue draw (SPEC §8): at opening, everyone who joined during the
 * pre-queue gets a place in a uniformly random order, so arriving early (or
 * with a fast script) in that window gives no edge. Exactly once, even with
 * many gateway copies (the event's draw lock, then the drawn flags), and
 * durable before anyone sees it: the order is committed to QUEUE_TOKEN (with
 * QUEUE_EPOCH.drawn_at, under the epoch fence, which it holds in share mode like
 * every writer, so joins commit while it writes), every fan's row with its drawn
 * place, and only then applied in Redis by draw-3.lua, DRAW_SLICE fans per run.
 * One script over a pre-queue of 100,000 fans held Redis for seconds, and its
 * record per fan in the mirror's stream went past the backlog bound that holds
 * joins and admission back. A copy that stopped before the last slice leaves
 * the order recorded, and the next one applies that; a rebuild restores it.
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

  /**
   * The WAITING states Redis holds for `tokens` (those still waiting), with their
   * provisional places: fans whose joins timed out waiting for MySQL, whose rows
   * only the mirror would write.
   */
  private async waitingStates(keys: EventKeys, tokens: readonly string[]): Promise<TokenState[]> {
    const states: TokenState[] = []
    for (let start = 0; start < tokens.length; start += 1_000) {
      const slice = tokens.slice(start, start + 1_000)
      const pipeline = this.redis.pipeline()
      for (const token of slice) pipeline.hget(keys.record(token), token).zscore(keys.waiting, token)
      const replies = (await pipeline.exec()) ?? []
      slice.forEach((token, i) => {
        const [lineError, line] = replies[2 * i] ?? []
        const [placeError, place] = replies[2 * i + 1] ?? []
        if (lineError || placeError) throw lineError ?? placeError
        if (typeof line === 'string' && typeof place === 'string') {
          states.push(fromWaitingLine(token, line, Number(place)))
        }
      })
    }
    return states
  }

  private async draw(keys: EventKeys): Promise<number> {
    const [drawn, last, epoch] = await Promise.all([
      this.redis.hget(keys.sale, 'drawn'),
      this.redis.hget(keys.sale, 'prequeueLast'),
      this.redis.get(keys.marker),
    ])
    if (drawn === '1' || epoch === null) return 0
    const { tokens, places } = await this.preQueue(keys, Number(last ?? 0))
    // Rows the mirror has not written yet, read before the transaction (it holds the epoch row).
    const written = await placesOf(this.db, tokens)
    const unwritten = await this.waitingStates(
      keys,
      tokens.filter((token) => !written.has(token)),
    )
    // READ COMMITTED: no gap locks, so the joins committing meanwhile never wait for it.
    // Run again when InnoDB undid it: taking the epoch row exclusively at the end can
    // deadlock with a writer waiting for one of the rows the draw holds (a leave of a
    // pre-queue fan, the mirror), and InnoDB undoes one of the two.
    const order = await retryTokenWrite(() =>
      this.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx): Promise<Array<[string, number]>> => {
          const fence = await holdEpochForDraw(trx, keys.eventId)
          if (fence.epoch !== Number(epoch)) {
            throw new AppError('SERVICE_UNAVAILABLE', 'the queue is being restored', { retryAfter: 1 })
          }
          if (fence.drawnAt !== null) {
            // Drawn and recorded already (by a copy that stopped before its last slice): apply that order.
            const recorded = await placesOf(trx, tokens)
            return tokens.flatMap((token) => {
              const place = recorded.get(token)
              return place === undefined ? [] : [[token, place] as [string, number]]
            })
          }
          const drawnPlaces = shuffled(places)
          const assignment = tokens.map((token, i) => [token, drawnPlaces[i] as number] as [string, number])
          const drawnPlaceOf = new Map(assignment)
          // Every fan's row holds its drawn place, under the version Redis has: the rows the
          // mirror had not written are written here. Should the mirror write one of them too,
          // from the join's record (its version is not newer), the row keeps the drawn place
          // whichever of the two gets the row first (recordDrawnPlaces writes it last).
          for (let start = 0; start < unwritten.length; start += 1_000) {
            await writeTokenStates(
              trx,
              keys.eventId,
              unwritten
                .slice(start, start + 1_000)
                .map((state) => ({ ...state, place: drawnPlaceOf.get(state.token) ?? state.place })),
            )
          }
          await recordDrawnPlaces(trx, assignment)
          await this.options.beforeRecorded?.()
          // Last, and only now the row in exclusive mode (for a moment): joins committed
          // alongside the whole draw. Two copies drawing at once (the Redis draw lock lost)
          // mostly deadlock before this, and InnoDB undoes one; should both get here, the
          // second finds the draw recorded: it is undone, and the next tick applies that one.
          if (!(await recordDrawn(trx, keys.eventId))) {
            throw new AppError('SERVICE_UNAVAILABLE', 'another copy drew the pre-queue meanwhile', {
              retryAfter: 1,
            })
          }
          return assignment
        }),
    )
    let placed = 0
    for (let start = 0; start === 0 || start < order.length; start += this.slice) {
      const final = start + this.slice >= order.length
      const reply = await this.redis.queueDraw(
        keys.marker,
        keys.waiting,
        keys.sale,
        keys.records,
        keys.accounts,
        final ? '1' : '0',
        order.slice(start, start + this.slice).flatMap(([token, place]) => [token, String(place)]),
      )
      // Redis lost the queue: the rebuild restores the recorded order (and the drawn mark).
      if (needsRecovery(reply)) return placed
      placed += Number(reply[1] ?? 0)
      if (!final) await this.options.afterSlice?.()
    }
    return placed
  }
}
