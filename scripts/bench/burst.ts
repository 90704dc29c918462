import { Client } from 'undici'
import { cpuMeter } from './cpu.js'
import { countOk, type LoadResult, loadCpuSources, percentile, printResult, quietMachine } from './load.js'

export interface BurstOptions {
  url: string
  /** How many requests, each on its own connection. */
  connections: number
  /** Each connection is opened by one `GET <warmUpPath>` first, left out of every figure. */
  warmUpPath: string
  method?: 'GET' | 'POST'
  path?: string
  headers?: Record<string, string>
  /** Request i's own body and headers (besides `headers`). */
  request?: (i: number) => { body?: string; headers?: Record<string, string> }
  /** Statuses that count as answered well (default: every 2xx). */
  okStatuses?: readonly number[]
  /** Called with each answer's status, latency (ms) and request number, e.g. to split winners from losers. */
  onResponse?: (status: number, ms: number, index: number) => void
  /** A warm-up: sent at once (no wait for a quiet machine) and not printed. */
  quiet?: true
}

/**
 * Many clients sending one request each at the same instant, over connections they have
 * open already (a racer for a seat has one: it has just loaded the seat map). Every
 * connection is opened and warmed (one GET each, all answered) before any measured
 * request leaves; then the requests are sent in one go, and each one's latency runs from
 * its sending to its whole answer.
 *
 * Not autocannon: it sends a connection's measured request as soon as that connection's
 * own warm-up is answered, while the others still connect and warm up, so a burst also
 * measured the server taking in the other connections and their warm-ups (the losers'
 * latencies fell with the order their connections warmed in). undici (Node's own HTTP
 * client library) holds one connection per racer between the two steps.
 */
export async function burst(name: string, options: BurstOptions): Promise<LoadResult> {
  const requests = Array.from({ length: options.connections }, (_, i) => {
    const own = options.request?.(i) ?? {}
    return { headers: { ...options.headers, ...own.headers }, body: own.body }
  })
  if (!options.quiet) await quietMachine()
  const clients = requests.map(() => new Client(options.url, { pipelining: 1 }))
  try {
    // Every connection open and warm, just before the burst (as a racer's seat map load is).
    await Promise.all(
      clients.map((client) =>
        client.request({ method: 'GET', path: options.warmUpPath }).then((answer) => answer.body.dump()),
      ),
    )
    const sources = loadCpuSources()
    const meter = sources && !options.quiet ? await cpuMeter(sources) : undefined
    const statuses: Record<string, number> = {}
    const latencies: number[] = []
    const started = performance.now()
    let lastAt = started
    const answers = await Promise.allSettled(
      clients.map(async (client, i) => {
        const request = requests[i] as (typeof requests)[number]
        const sentAt = performance.now()
        const answer = await client.request({
          method: options.method ?? 'GET',
          path: options.path ?? '/',
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
        })
        await answer.body.dump()
        const at = performance.now()
        const ms = at - sentAt
        lastAt = Math.max(lastAt, at)
        latencies.push(ms)
        statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1
        options.onResponse?.(answer.statusCode, ms, i)
      }),
    )
    const failed = answers.filter((answer) => answer.status === 'rejected').length
    if (failed > 0) statuses.errors = failed
    const succeeded = countOk(statuses, options.okStatuses)
    const figures: LoadResult = {
      name,
      requests: latencies.length,
      rps: lastAt > started ? succeeded / ((lastAt - started) / 1000) : 0,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      statuses,
    }
    if (meter) figures.cpu = await meter.per(Math.max(1, latencies.length), 'the client')
    if (!options.quiet) printResult(figures)
    return figures
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}
