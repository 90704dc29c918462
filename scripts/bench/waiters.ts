import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULT_QUEUE_TUNING, F, joinArgs, loadScripts, newToken, pairs, Reply } from '@concert/queue'
import type { Redis } from 'ioredis'
import { settings } from './config.js'
import {
  type Alternated,
  alternate,
  combine,
  inTurn,
  type LoadOptions,
  type LoadResult,
  load,
  medianOfRounds,
} from './load.js'
import { infoNumber } from './redis.js'
import { joinAll, type Stores } from './setup.js'

/** How many distinct waiters each poll load spreads its requests over. */
const POLLED_WAITERS = 1_000

export interface WaitersResult {
  waiters: number
  /**
   * Polls of the first 1,000 waiters, in turn, while they are the whole queue, in rounds
   * alternating with the HTTP floor (`floor`): the poll's ratio is the median of theirs.
   */
  pollRounds: Alternated
  pollAt1k: LoadResult
  /**
   * The full queue's head and tail, and a queue of 1,000 (another event) beside them,
   * in alternating rounds; each side its rounds together (load.ts combine).
   */
  pollHead: LoadResult
  pollTail: LoadResult
  pollSmall: LoadResult
  /** Each round's worse p99 of head and tail ÷ the small queue's, and their median (the figure). */
  p99Ratios: number[]
  p99Ratio: number
  bytesPerWaiter: number
  fillSeconds: number
}

type JoinCommand = (...args: Array<string | number>) => Promise<unknown>

/** join-9.lua as a command of this client (EVALSHA), for pipelining. */
function joinCommand(redis: Redis): string {
  const script = loadScripts().find((s) => s.file === 'join-9')
  if (!script) throw new Error('packages/queue has no join-9.lua')
  redis.defineCommand('benchJoin', { lua: script.lua, numberOfKeys: script.numberOfKeys })
  return 'benchJoin'
}

/**
 * Fills the queue with the join script itself, pipelined 2,000 at a time: the same
 * script, keys and arguments as QueueService.join, with the mirror's back-pressure
 * bound of the apps (a BACKLOG answer is retried after 100 ms), but without the
 * joining request's own durable write: the gateway's mirror writes every place to
 * QUEUE_TOKEN, and the bench waits for it before reading memory. Returns the tokens
 * of the POLLED_WAITERS highest places (the tail of the queue).
 */
async function fillByScript(stores: Stores, eventId: number, accountIds: readonly string[]) {
  const name = joinCommand(stores.redis)
  const k = stores.queue.keys(eventId)
  let pending = [...accountIds]
  let done = 0
  // Places are handed out in the order the replies come back (retries last): the last ones are the tail.
  let tail: string[] = []
  let reported = 0
  const started = performance.now()
  while (pending.length > 0) {
    const retry: string[] = []
    for (let i = 0; i < pending.length; i += 2_000) {
      const batch = pending.slice(i, i + 2_000)
      const pipeline = stores.redis.pipeline()
      const run = (pipeline as unknown as Record<string, JoinCommand>)[name] as JoinCommand
      for (const accountId of batch) {
        run.call(
          pipeline,
          ...joinArgs(k, newToken(eventId), accountId, DEFAULT_QUEUE_TUNING.mirrorMaxBacklog),
        )
      }
      const replies = (await pipeline.exec()) ?? []
      replies.forEach(([error, reply], j) => {
        if (error) throw error
        const values = reply as Array<string | number>
        if (values[0] === Reply.BACKLOG) {
          retry.push(batch[j] as string)
          return
        }
        if (values[0] !== Reply.CREATED && values[0] !== Reply.EXISTING) {
          throw new Error(`join answered ${String(values[0])}`)
        }
        tail.push(pairs(values, 1)[F.token] as string)
        if (tail.length >= 2 * POLLED_WAITERS) tail = tail.slice(-POLLED_WAITERS)
        done += 1
      })
      if (done - reported >= 50_000) {
        reported = done
        const rate = (done / (performance.now() - started)) * 1000
        console.log(`  … ${done + 1_000} waiters (${rate.toFixed(0)}/s)`)
      }
      if (retry.length > 0) await sleep(100)
    }
    pending = retry
  }
  return tail.slice(-POLLED_WAITERS)
}

/** Until the gateway's mirror has written and acknowledged every change of the event (stream empty). */
async function mirrorCaughtUp(stores: Stores, eventId: number): Promise<void> {
  const key = stores.queue.keys(eventId).stream
  const deadline = Date.now() + 600_000
  while ((await stores.redis.xlen(key)) > 0) {
    if (Date.now() > deadline) throw new Error('the mirror did not catch up within 10 minutes')
    await sleep(500)
  }
}

/**
 * The big queue: one paused event (no admissions, idle waiters kept a day) filled
 * with `settings.waiters` places from this process — not through HTTP joins, which
 * would need as many accounts and signed JWTs as waiters and, at the new-join rate
 * measured above, most of the time budget; what is measured here is what the places
 * cost, not how they came. The first 1,000 come from QueueService.join, the rest from
 * the join script pipelined (fillByScript). Polls are measured through the gateway
 * with 1,000 waiters, then at the head and the tail of the full queue, each load
 * polling 1,000 distinct waiters in turn (a fan's first poll on a gateway copy runs
 * the poll script, later ones share the event's feed reads); bytes per
 * waiter is the used_memory growth over the fill, read once the mirror has drained
 * the event's stream.
 */
export async function waitersPhase(
  stores: Stores,
  gatewayUrl: string,
  eventId: number,
  smallEventId: number,
  floor: LoadOptions,
): Promise<WaitersResult> {
  const total = Math.max(settings.waiters, 1_000)
  const ids = Array.from({ length: total }, (_, i) => `w-${i + 1}`)
  const memoryBefore = await infoNumber(stores.redis, 'memory', 'used_memory')
  const started = performance.now()
  // The first thousand through QueueService.join (durable write included; it also
  // starts the event's queue in Redis, the marker the script needs).
  const first = await joinAll(stores, eventId, ids.slice(0, 1_000))
  // Polled once the mirror has written them, like the full queue below.
  await mirrorCaughtUp(stores, eventId)
  // Each request polls the next of 1,000 waiters, as many fans do, not one token over and over.
  const polling = (tokens: readonly string[]) => ({
    url: `${gatewayUrl}/v1/queue/tokens/${tokens[0]}`,
    connections: settings.connections,
    seconds: settings.seconds,
    spread: tokens.map((token) => ({ path: `/v1/queue/tokens/${token}` })),
  })
  // The floor again, in rounds alternating with the polls it is divided into: this machine's
  // speed moves by tens of percent within minutes, and the reads phase's floor ran minutes ago.
  const pollRounds = await alternate('hello-world', floor, 'poll, 1k waiters', polling(first))
  const pollAt1k = pollRounds.path
  const filled = await fillByScript(stores, eventId, ids.slice(1_000))
  const tail = filled.length > 0 ? filled : first
  console.log(`  ${total} waiters joined; waiting for the mirror to drain the stream`)
  await mirrorCaughtUp(stores, eventId)
  const fillSeconds = (performance.now() - started) / 1000
  const memoryAfter = await infoNumber(stores.redis, 'memory', 'used_memory')
  const bytesPerWaiter = (memoryAfter - memoryBefore) / total
  console.log(
    `  Redis used_memory +${((memoryAfter - memoryBefore) / 1e6).toFixed(1)} MB = ${bytesPerWaiter.toFixed(0)} B per waiter`,
  )
  // The p99 at 1M against the p99 at 1k: measured minutes apart, the machine's minute
  // decided it (the load generator's own CPU per answer doubled between them in one run).
  // So the full queue's head and tail alternate with a queue of 1,000 of another event.
  const small = await joinAll(
    stores,
    smallEventId,
    ids.slice(0, 1_000).map((id) => `s${id}`),
  )
  await mirrorCaughtUp(stores, smallEventId)
  const rounds = settings.ratioRounds
  const heads: LoadResult[] = []
  const tails: LoadResult[] = []
  const smalls: LoadResult[] = []
  for (let round = 1; round <= rounds; round += 1) {
    const poll = (name: string, tokens: readonly string[]) =>
      load(`${name}, round ${round}/${rounds}`, {
        ...polling(tokens),
        seconds: settings.ratioRoundSeconds,
        warmUp: round === 1,
      })
    await inTurn(round, [
      async () => smalls.push(await poll('poll, a queue of 1,000', small)),
      async () => heads.push(await poll(`poll, ${total} waiters (the first 1,000)`, first)),
      async () => tails.push(await poll(`poll, ${total} waiters (the last 1,000)`, tail)),
    ])
  }
  const p99Ratios = smalls.map(
    (s, i) => Math.max((heads[i] as LoadResult).p99, (tails[i] as LoadResult).p99) / s.p99,
  )
  const p99Ratio = medianOfRounds('poll p99, 1M / 1k', p99Ratios)
  return {
    waiters: total,
    pollRounds,
    pollAt1k,
    pollHead: combine(`poll, ${total} waiters (the first 1,000)`, heads),
    pollTail: combine(`poll, ${total} waiters (the last 1,000)`, tails),
    pollSmall: combine('poll, a queue of 1,000', smalls),
    p99Ratios,
    p99Ratio,
    bytesPerWaiter,
    fillSeconds,
  }
}
