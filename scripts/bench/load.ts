import autocannon from 'autocannon'
import { settings } from './config.js'
import { type CpuSources, cpuMeter, settle } from './cpu.js'

export interface LoadResult {
  name: string
  requests: number
  /** Successful answers (2xx; a burst's `okStatuses`) per second. */
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

/** The processes measureCpuOf named (burst.ts reports the same CPU lines). */
export function loadCpuSources(): CpuSources | undefined {
  return cpuSources
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
  /**
   * Sends these requests (path, and headers besides `headers`; a body makes it a POST) in
   * turn, each connection from its own offset (spread over the list). autocannon builds a
   * connection's requests once, when they are given it: building each one as it is sent
   * (its setupRequest) cost the load generator ~80 µs a request, CPU taken from the
   * servers on the same cores.
   */
  spread?: ReadonlyArray<SpreadRequest>
  /**
   * With `spread`: each connection gets only its own part of the list (from its offset to
   * the next connection's) and starts that part over when done. For requests that must
   * each be sent once (one join per account, one purchase per token). The parts are cut
   * as autocannon shares out `amount` (the first `length % connections` get one more), so
   * a list of exactly `amount` requests is sent once each, none twice.
   */
  disjoint?: boolean
  /** Statuses that count as answered well (default: every 2xx). */
  okStatuses?: readonly number[]
  /**
   * Whether it is sent for BENCH_WARM_UP_SECONDS first (load's warm-up). By default only
   * a load of a duration whose requests are all GETs is, the ones that change nothing;
   * `true` for one that may be repeated too (every answer a 409), `false` for none (a
   * later round of alternate, already warm).
   */
  warmUp?: boolean
}

export interface SpreadRequest {
  path: string
  headers?: Record<string, string>
  /** A POST with this body (GET without one). */
  body?: string
}

/**
 * autocannon's setupClient: connection c sends `requests` in turn from its offset: all of
 * them (from c × length / connections), or (disjoint) only its own part, cut as autocannon
 * cuts `amount` between connections (run.js distributeNums).
 */
function spreadOver(
  requests: ReadonlyArray<SpreadRequest>,
  headers: Record<string, string>,
  connections: number,
  disjoint: boolean,
) {
  let client = 0
  return (connection: { setRequests(requests: autocannon.Request[]): void }) => {
    const share = Math.floor(requests.length / connections)
    const extra = requests.length % connections
    const partStart = (c: number) => c * share + Math.min(c, extra)
    const offset = Math.floor((client * requests.length) / connections) % requests.length
    const turn = disjoint
      ? requests.slice(partStart(client), partStart(client + 1))
      : [...requests.slice(offset), ...requests.slice(0, offset)]
    client += 1
    connection.setRequests(
      turn.map((request) => ({
        method: request.body === undefined ? ('GET' as const) : ('POST' as const),
        path: request.path,
        headers: { ...headers, ...request.headers },
        ...(request.body === undefined ? {} : { body: request.body }),
      })),
    )
  }
}

/**
 * Waits for a quiet machine (cpu.ts settle: at least a second, then until the apps and
 * stores are idle) and says so when that took long or did not happen.
 */
export async function quietMachine(): Promise<void> {
  if (!cpuSources) {
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    return
  }
  const { waitedMs, busyShare, quiet } = await settle(cpuSources)
  if (!quiet)
    console.log(
      `  (the machine was not quiet after ${(waitedMs / 1000).toFixed(0)} s: ${pct(busyShare)} of a core busy)`,
    )
  else if (waitedMs > 2_000)
    console.log(`  (waited ${(waitedMs / 1000).toFixed(1)} s for the previous work to settle)`)
}

const pct = (share: number) => `${Math.round(share * 100)} %`

/**
 * One autocannon run of `options`: its result, and the answers by status (`errors`:
 * connection errors and timeouts); `onAnswer` is told when each answer arrives.
 */
async function cannon(
  options: LoadOptions,
  onAnswer?: () => void,
): Promise<{ result: autocannon.Result; statuses: Record<string, number> }> {
  // autocannon refuses more connections than requests (a short warm-up or round).
  const connections =
    options.amount !== undefined ? Math.min(options.connections, options.amount) : options.connections
  // Without a callback autocannon returns its instance (an EventEmitter), made thenable.
  const instance = autocannon({
    url: options.url,
    connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.spread
      ? {
          setupClient: spreadOver(
            options.spread,
            options.headers ?? {},
            connections,
            options.disjoint ?? false,
          ),
        }
      : {}),
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>
  const statuses: Record<string, number> = {}
  instance.on('response', (_client: object, status: number) => {
    onAnswer?.()
    statuses[status] = (statuses[status] ?? 0) + 1
  })
  const result = await instance
  const errors = result.errors + result.timeouts
  if (errors > 0) statuses.errors = errors
  return { result, statuses }
}

/**
 * Requests sent before a measurement and left out of it (no figure, no CPU), so that the
 * measurement sees the apps' code compiled. V8 compiles a path's hot functions while it
 * serves them: in the first seconds of the reserve+pay load, a fifth of the booking API's
 * CPU went to its optimizing compiler (`perf record` of the process: 21.8 % in the first
 * 5 s, 3.7 % after), where a hello-world's few functions compile within milliseconds.
 * A server in an on-sale has been serving for minutes. Prints one line; answers by status.
 */
export async function warmUp(name: string, options: LoadOptions): Promise<Record<string, number>> {
  const { statuses } = await cannon(options)
  const codes = Object.entries(statuses)
    .map(([status, n]) => `${status}×${n}`)
    .join(' ')
  console.log(`  ${`(${name}, not counted)`.padEnd(30)} ${codes || 'no answers'}`)
  return statuses
}

/**
 * One autocannon run in this process (the servers are child processes). Every
 * figure comes from autocannon's own histogram: throughput is answers per
 * second of the run, latencies are per request. A load of a duration that changes
 * nothing (GETs) is first sent for BENCH_WARM_UP_SECONDS, not counted (warmUp; see
 * LoadOptions.warmUp); the others are warmed by their callers.
 */
export async function load(name: string, options: LoadOptions): Promise<LoadResult> {
  const reads =
    options.amount === undefined &&
    (options.method ?? 'GET') === 'GET' &&
    options.body === undefined &&
    (options.spread ?? []).every((request) => request.body === undefined)
  if ((options.warmUp ?? reads) && settings.warmUpSeconds > 0) {
    await warmUp(`warm-up ${settings.warmUpSeconds} s`, { ...options, seconds: settings.warmUpSeconds })
  }
  await quietMachine()
  const meter = cpuSources ? await cpuMeter(cpuSources) : undefined
  const startedAt = performance.now()
  let lastAnswerAt = startedAt
  const { result, statuses } = await cannon(options, () => {
    lastAnswerAt = performance.now()
  })
  const answered = Object.entries(statuses)
    .filter(([status]) => status !== 'errors')
    .reduce((sum, [, n]) => sum + n, 0)
  const succeeded = countOk(statuses, options.okStatuses)
  // A run of `amount` requests ends at autocannon's next one-second tick after the last
  // answer, so its `duration` is whole seconds and a rate from it is quantized (3,000
  // purchases read 428, 500 or 600/s whatever the true rate between): time it here instead.
  const seconds = options.amount !== undefined ? (lastAnswerAt - startedAt) / 1000 : result.duration
  const figures: LoadResult = {
    name,
    requests: answered,
    rps: seconds > 0 ? succeeded / seconds : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
  }
  if (meter) figures.cpu = await meter.per(Math.max(1, answered), 'the load generator')
  printResult(figures)
  return figures
}

export interface Alternated {
  /** Each side over all its rounds: answers/s their mean, p50 and p99 their medians. */
  floor: LoadResult
  path: LoadResult
  /** path / floor of each round, measured back to back. */
  ratios: number[]
  /** Their median: the figure. */
  ratio: number
}

/**
 * A floor and a path in alternating rounds of `seconds` each (floor, path; path, floor;
 * floor, path; …), the ratio taken per round from the two windows side by side. This
 * machine's speed moves by tens of percent within minutes (the hello-world read
 * 19,050–32,879 req/s in four runs of one hour, its own CPU per answer 29–45 µs), so
 * one window each can set a path against a floor measured at another speed; the median
 * of the rounds' ratios is not moved by one slow or fast window.
 */
export async function alternate(
  floorName: string,
  floor: LoadOptions,
  pathName: string,
  path: LoadOptions,
): Promise<Alternated> {
  const rounds = settings.ratioRounds
  const seconds = settings.ratioRoundSeconds
  const floors: LoadResult[] = []
  const paths: LoadResult[] = []
  for (let round = 1; round <= rounds; round += 1) {
    const run = (name: string, options: LoadOptions) =>
      load(`${name}, round ${round}/${rounds}`, { ...options, seconds, warmUp: round === 1 })
    await inTurn(round, [
      async () => floors.push(await run(floorName, floor)),
      async () => paths.push(await run(pathName, path)),
    ])
  }
  const ratios = paths.map((p, i) => p.rps / (floors[i] as LoadResult).rps)
  return {
    floor: combine(floorName, floors),
    path: combine(pathName, paths),
    ratios,
    ratio: medianOfRounds(`${pathName} / ${floorName}`, ratios),
  }
}

/**
 * Runs one round's loads, in order in odd rounds and backwards in even ones, so that
 * no side always runs first (right after another load, or after a quiet wait).
 */
export async function inTurn(round: number, steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  for (const step of round % 2 === 1 ? steps : [...steps].reverse()) await step()
}

/** The median of the rounds' ratios, printed with each round's. */
export function medianOfRounds(name: string, ratios: readonly number[]): number {
  const figure = median(ratios)
  console.log(
    `  ${name.padEnd(30)} by round ${ratios.map((r) => `${r.toFixed(2)}×`).join(' ')} → median ${figure.toFixed(2)}×`,
  )
  return figure
}

/** Rounds of one load as one result (rounds of equal length). */
export function combine(name: string, rounds: readonly LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {}
  for (const round of rounds) {
    for (const [status, n] of Object.entries(round.statuses)) statuses[status] = (statuses[status] ?? 0) + n
  }
  return {
    name,
    requests: rounds.reduce((sum, round) => sum + round.requests, 0),
    rps: rounds.reduce((sum, round) => sum + round.rps, 0) / rounds.length,
    p50: median(rounds.map((round) => round.p50)),
    // The median, like the p50: the highest would make the 1M/1k p99 ratio easier to pass.
    p99: median(rounds.map((round) => round.p99)),
    statuses,
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * Answers that count as throughput: successes only (2xx, or `okStatuses`). A 503 of the
 * load shedder is fast and says nothing of the path.
 */
export function countOk(statuses: Record<string, number>, okStatuses?: readonly number[]): number {
  const ok = (status: string) => (okStatuses ? okStatuses.includes(Number(status)) : /^2\d\d$/.test(status))
  return Object.entries(statuses)
    .filter(([status]) => ok(status))
    .reduce((sum, [, n]) => sum + n, 0)
}

/** A load's line, and its CPU line when measured. */
export function printResult(figures: LoadResult): void {
  console.log(`  ${describe(figures)}`)
  if (figures.cpu) console.log(`  ${''.padEnd(30)} CPU per answer: ${figures.cpu}`)
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
