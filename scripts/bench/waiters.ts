import { settings } from './config.js'
import { type LoadResult, load } from './load.js'
import { infoNumber } from './redis.js'
import { joinAll, type Stores } from './setup.js'

export interface WaitersResult {
  waiters: number
  /** Poll of the last of the first 1,000 waiters. */
  pollAt1k: LoadResult
  pollHead: LoadResult
  pollTail: LoadResult
  bytesPerWaiter: number
  fillSeconds: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
 * with `settings.waiters` places by QueueService.join from this process — the
 * gateway's join without HTTP and account check, durable QUEUE_TOKEN write
 * included. (Through HTTP the fill would need as many accounts and signed JWTs as
 * waiters, and at the new-join rate measured above it alone would take most of the
 * time budget; what is measured here is what the places cost, not how they came.)
 * Polls are measured through the gateway with 1,000 waiters, then at the head and
 * the tail of the full queue; bytes per waiter is the used_memory growth over the
 * fill, read once the mirror has drained the event's stream.
 */
export async function waitersPhase(
  stores: Stores,
  gatewayUrl: string,
  eventId: number,
): Promise<WaitersResult> {
  const total = Math.max(settings.waiters, 1_000)
  const ids = Array.from({ length: total }, (_, i) => `w-${i + 1}`)
  const memoryBefore = await infoNumber(stores.redis, 'memory', 'used_memory')
  const started = performance.now()
  const first = await joinAll(stores, eventId, ids.slice(0, 1_000))
  const head = first[0] as string
  const pollAt1k = await load('poll, 1k waiters (tail)', {
    url: `${gatewayUrl}/v1/queue/tokens/${first[999]}`,
    connections: settings.connections,
    seconds: settings.seconds,
  })
  const fillStarted = performance.now()
  const rest = await joinAll(stores, eventId, ids.slice(1_000), 2_000, (done) =>
    console.log(
      `  … ${done + 1_000} waiters (${((done / (performance.now() - fillStarted)) * 1000).toFixed(0)}/s)`,
    ),
  )
  const tail = rest.at(-1) ?? (first.at(-1) as string)
  console.log(`  ${total} waiters joined; waiting for the mirror to drain the stream`)
  await mirrorCaughtUp(stores, eventId)
  const fillSeconds = (performance.now() - started) / 1000
  const memoryAfter = await infoNumber(stores.redis, 'memory', 'used_memory')
  const bytesPerWaiter = (memoryAfter - memoryBefore) / total
  console.log(
    `  Redis used_memory +${((memoryAfter - memoryBefore) / 1e6).toFixed(1)} MB = ${bytesPerWaiter.toFixed(0)} B per waiter`,
  )
  const pollHead = await load(`poll, ${total} waiters (head)`, {
    url: `${gatewayUrl}/v1/queue/tokens/${head}`,
    connections: settings.connections,
    seconds: settings.seconds,
  })
  const pollTail = await load(`poll, ${total} waiters (tail)`, {
    url: `${gatewayUrl}/v1/queue/tokens/${tail}`,
    connections: settings.connections,
    seconds: settings.seconds,
  })
  return { waiters: total, pollAt1k, pollHead, pollTail, bytesPerWaiter, fillSeconds }
}
