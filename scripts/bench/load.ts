import autocannon from 'autocannon'
import { type CpuSources, cpuMeter } from './cpu.js'

export interface LoadResult {
  name: string
  requests: number
  /** Successful answers (2xx, or `okStatuses`) per second. */
  rps: number
  p50: number
  p99: number
  /** Answers by status, e.g. { 200: 51234 } (plus 'errors' for connection errors and timeouts). */
  statuses: Record<string, number>
  /** CPU per answer by process (measureCpuOf), e.g. 'booking-api 41 µs, Redis 16 µs, …'. */
  cpu?: string
}

let cpuSources: CpuSources | undefined

/** From now on every load also reports the CPU per answer of these processes (and MariaDB, Redis, this one). */
export function measureCpuOf(sources: CpuSources): void {
  cpuSources = sources
}

export interface LoadOptions {
  url: string
  connections: number
  /** Seconds of load (ignored when `amount` is set). */
  seconds?: number
  /** Exactly this many requests, then stop. */
  amount?: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Gives request number i (0-based, across all connections) its own path, headers or body. */
  rotate?: (i: number) => { path?: string; headers?: Record<string, string>; body?: string }
  /**
   * GETs these requests (path, and headers besides `headers`) in turn, each connection from
   * its own offset (spread over the list). The requests are built once per connection, so
   * unlike `rotate` the load generator pays nothing per request for them.
   */
  spread?: ReadonlyArray<{ path: string; headers?: Record<string, string> }>
  /** Statuses that count as throughput (default: every 2xx). */
  okStatuses?: readonly number[]
  /** Called with each answer's status and latency (ms), e.g. to split winners from losers. */
  onResponse?: (status: number, ms: number) => void
  /**
   * Each connection first sends `GET <warmUpPath>`, left out of every figure, then its one
   * measured request (needs `amount` = `connections`). autocannon starts a connection's
   * first timer when it builds the client, before the other clients are built and before
   * any socket has connected, so a burst of 200 fresh connections measures the client:
   * a Fastify hello-world answers such a burst at p50 30–70 ms on 2 cores. A racer for a
   * seat has a connection open already (it just loaded the seat map).
   */
  warmUpPath?: string
}

/** autocannon's setupClient: connection c GETs `requests` in turn from offset c × length / connections. */
function spreadOver(
  requests: ReadonlyArray<{ path: string; headers?: Record<string, string> }>,
  headers: Record<string, string>,
  connections: number,
) {
  let client = 0
  return (connection: { setRequests(requests: autocannon.Request[]): void }) => {
    const offset = Math.floor((client * requests.length) / connections) % requests.length
    client += 1
    const turn = [...requests.slice(offset), ...requests.slice(0, offset)]
    connection.setRequests(
      turn.map((request) => ({
        method: 'GET' as const,
        path: request.path,
        headers: { ...headers, ...request.headers },
      })),
    )
  }
}

/**
 * One autocannon run in this process (the servers are child processes). Every
 * figure comes from autocannon's own histogram: throughput is answers per
 * second of the run, latencies are per request.
 */
export async function load(name: string, options: LoadOptions): Promise<LoadResult> {
  // A second of quiet first, so what the previous run left queued (GC, a shed burst) settles.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  let next = 0
  const rotate = options.rotate
  const warmUp = options.warmUpPath
  if (warmUp !== undefined && options.amount !== options.connections)
    throw new Error('warmUpPath needs amount = connections (one measured request per connection)')
  const measured: autocannon.Request = rotate
    ? {
        setupRequest: (request: autocannon.Request) => {
          const change = rotate(next)
          next += 1
          return {
            ...request,
            ...(change.path ? { path: change.path } : {}),
            ...(change.body !== undefined ? { body: change.body } : {}),
            headers: { ...request.headers, ...change.headers },
          }
        },
      }
    : {}
  const requests =
    warmUp !== undefined
      ? [{ method: 'GET' as const, path: warmUp, headers: {}, body: '' }, measured]
      : rotate
        ? [measured]
        : undefined
  const meter = cpuSources ? await cpuMeter(cpuSources) : undefined
  const startedAt = performance.now()
  let lastAnswerAt = startedAt
  // Without a callback autocannon returns its instance (an EventEmitter), made thenable.
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount !== undefined
      ? { amount: warmUp !== undefined ? 2 * options.amount : options.amount }
      : { duration: options.seconds ?? 10 }),
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(requests ? { requests } : {}),
    ...(options.spread
      ? { setupClient: spreadOver(options.spread, options.headers ?? {}, options.connections) }
      : {}),
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>
  const statuses: Record<string, number> = {}
  // With a warm-up, a connection's first answer is its warm-up's: left out.
  const warmedUp = new WeakSet<object>()
  const latencies: number[] = []
  instance.on('response', (client: object, status: number, _bytes: number, ms: number) => {
    lastAnswerAt = performance.now()
    if (warmUp !== undefined) {
      if (!warmedUp.has(client)) {
        warmedUp.add(client)
        return
      }
      latencies.push(ms)
    }
    statuses[status] = (statuses[status] ?? 0) + 1
    options.onResponse?.(status, ms)
  })
  const result = await instance
  const errors = result.errors + result.timeouts
  if (errors > 0) statuses.errors = errors
  const answered = Object.entries(statuses)
    .filter(([status]) => status !== 'errors')
    .reduce((sum, [, n]) => sum + n, 0)
  // Throughput counts successes only: a 503 of the load shedder is fast and says nothing of the path.
  const ok = (status: string) =>
    options.okStatuses ? options.okStatuses.includes(Number(status)) : /^2\d\d$/.test(status)
  const succeeded = Object.entries(statuses)
    .filter(([status]) => ok(status))
    .reduce((sum, [, n]) => sum + n, 0)
  // A run of `amount` requests ends at autocannon's next one-second tick after the last
  // answer, so its `duration` is whole seconds and a rate from it is quantized (3,000
  // purchases read 428, 500 or 600/s whatever the true rate between): time it here instead.
  const seconds = options.amount !== undefined ? (lastAnswerAt - startedAt) / 1000 : result.duration
  const figures: LoadResult = {
    name,
    requests: answered,
    rps: seconds > 0 ? succeeded / seconds : 0,
    // autocannon's histogram would include the warm-ups.
    p50: warmUp !== undefined ? percentile(latencies, 50) : result.latency.p50,
    p99: warmUp !== undefined ? percentile(latencies, 99) : result.latency.p99,
    statuses,
  }
  if (meter) figures.cpu = `${await meter.per(Math.max(1, answered))} (bench process: the load generator)`
  console.log(`  ${describe(figures)}`)
  if (figures.cpu) console.log(`  ${''.padEnd(30)} CPU per answer: ${figures.cpu}`)
  return figures
}

export function describe(r: LoadResult): string {
  const codes = Object.entries(r.statuses)
    .map(([status, n]) => `${status}×${n}`)
    .join(' ')
  return (
    `${r.name.padEnd(30)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(1).padStart(7)} ms` +
    `  p99 ${r.p99.toFixed(1).padStart(7)} ms  (${r.requests} answers: ${codes})`
  )
}

/** p-th percentile of latencies (ms). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}
