import { settings } from './config.js'
import { cpuMeter } from './cpu.js'
import { inTurn, load, loadCpuSources, median, medianOfRounds, quietMachine, warmUp } from './load.js'
import { type FloorPurchase, type FloorSetup, openPurchaseFloor } from './purchase-floor.js'

export interface PurchasesOptions {
  bookingUrl: string
  floor: FloorSetup
  /** One seat per purchase; the measured purchases and each warm-up buy the same seats, each on its own show. */
  seatIds: readonly number[]
  /** reserve+pay's show and READY tokens (one per seat, in order). */
  show: number
  tokens: readonly string[]
  /** The floor's show, tokens and their accounts. */
  floorShow: number
  floorTokens: readonly string[]
  floorAccounts: readonly string[]
  /** The warm-ups' shows, tokens and (the floor's) accounts; no tokens, no warm-up. */
  warmUpShow: number
  warmUpTokens: readonly string[]
  floorWarmUpShow: number
  floorWarmUpTokens: readonly string[]
  floorWarmUpAccounts: readonly string[]
}

/** One side of the phase over all its rounds. */
export interface PurchaseSide {
  /** Purchases per second, the mean of the rounds'. */
  rps: number
  /** The medians of the rounds' p50s and p99s. */
  p50: number
  p99: number
  /** Purchases that succeeded (HTTP: 201 answers), and those that did not. */
  done: number
  failed: number
  /** The last round's CPU line (the warmest). */
  cpu: string
}

export interface PurchasesResult {
  http: PurchaseSide
  floor: PurchaseSide
  /** reserve+pay / floor of each round, measured back to back. */
  ratios: number[]
  /** Their median: the figure. */
  ratio: number
  /** Seats the warm-up bought over HTTP (201 answers). */
  warmUpSold: number
}

/**
 * Reserve+pay and its floor, warm, in alternating rounds. First the warm-ups: HTTP
 * purchases on a show of their own, then as many by the floor on another (load.ts
 * warmUp says why). Then BENCH_RATIO_ROUNDS rounds, each a share of the purchases on
 * both sides (reserve+pay then the floor; the floor then reserve+pay; …): this machine's
 * speed moves by tens of percent within minutes, and one run of each, a few seconds
 * apart, read 0.75×, 0.86× and 0.94× in three runs of one code. Each round's ratio comes
 * from its two runs side by side; the figure is the median.
 */
export async function purchasesPhase(o: PurchasesOptions): Promise<PurchasesResult> {
  // Round r of both sides buys the same share of the seats: as many tokens on each side.
  if (o.floorTokens.length !== o.tokens.length || o.floorAccounts.length !== o.tokens.length)
    throw new Error('the floor needs as many tokens and accounts as reserve+pay')
  // Each token buys once: each connection sends its own part of the list (a disjoint
  // spread of exactly `amount` requests), built once, as the joins' are.
  const buying = (scheduleId: number, tokens: readonly string[], firstSeat: number) => ({
    url: `${o.bookingUrl}/v1/reservations`,
    connections: settings.purchaseConnections,
    amount: tokens.length,
    headers: { 'content-type': 'application/json' },
    spread: tokens.map((token, i) => ({
      path: '/v1/reservations',
      body: JSON.stringify({ scheduleId, seatId: o.seatIds[firstSeat + i] }),
      headers: { authorization: `Bearer ${token}` },
    })),
    disjoint: true,
  })
  const floorPurchases = (tokens: readonly string[], accounts: readonly string[], firstSeat: number) =>
    tokens.map(
      (token, i): FloorPurchase => ({
        token,
        accountId: accounts[i] as string,
        seatId: o.seatIds[firstSeat + i] as number,
      }),
    )
  const floor = openPurchaseFloor(o.floor)
  try {
    let warmUpSold = 0
    if (o.warmUpTokens.length > 0) {
      const statuses = await warmUp(
        `${o.warmUpTokens.length} warm-up purchases`,
        buying(o.warmUpShow, o.warmUpTokens, 0),
      )
      warmUpSold = statuses[201] ?? 0
      const warm = await floor.run(
        o.floorWarmUpShow,
        floorPurchases(o.floorWarmUpTokens, o.floorWarmUpAccounts, 0),
      )
      console.log(
        `  ${'(floor warm-up, not counted)'.padEnd(30)} ${warm.purchases} done, ${warm.failures} failed`,
      )
    }
    const rounds = settings.ratioRounds
    const http: Array<PurchaseSide> = []
    const floors: Array<PurchaseSide> = []
    for (let round = 1; round <= rounds; round += 1) {
      const from = Math.floor(((round - 1) * o.tokens.length) / rounds)
      const to = Math.floor((round * o.tokens.length) / rounds)
      const httpRound = async () => {
        const r = await load(
          `reserve+pay, round ${round}/${rounds}`,
          buying(o.show, o.tokens.slice(from, to), from),
        )
        const done = r.statuses[201] ?? 0
        http.push({ rps: r.rps, p50: r.p50, p99: r.p99, done, failed: r.requests - done, cpu: r.cpu ?? '' })
      }
      const floorRound = async () => {
        await quietMachine()
        const sources = loadCpuSources()
        const meter = sources ? await cpuMeter(sources) : undefined
        const r = await floor.run(
          o.floorShow,
          floorPurchases(o.floorTokens.slice(from, to), o.floorAccounts.slice(from, to), from),
        )
        const cpu = meter ? await meter.per(r.purchases || 1, 'the floor itself') : ''
        console.log(
          `  ${`purchase floor, round ${round}/${rounds}`.padEnd(30)} ${r.rps.toFixed(0).padStart(7)} req/s` +
            `  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms` +
            `  (${r.purchases} done, ${r.failures} failed)`,
        )
        if (cpu) console.log(`  ${''.padEnd(30)} CPU per purchase: ${cpu}`)
        floors.push({ rps: r.rps, p50: r.p50, p99: r.p99, done: r.purchases, failed: r.failures, cpu })
      }
      await inTurn(round, [httpRound, floorRound])
    }
    const ratios = http.map((side, i) => side.rps / (floors[i] as PurchaseSide).rps)
    return {
      http: combine(http),
      floor: combine(floors),
      ratios,
      ratio: medianOfRounds('reserve+pay / purchase floor', ratios),
      warmUpSold,
    }
  } finally {
    await floor.close()
  }
}

function combine(rounds: readonly PurchaseSide[]): PurchaseSide {
  return {
    rps: rounds.reduce((sum, round) => sum + round.rps, 0) / rounds.length,
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    done: rounds.reduce((sum, round) => sum + round.done, 0),
    failed: rounds.reduce((sum, round) => sum + round.failed, 0),
    cpu: rounds[rounds.length - 1]?.cpu ?? '',
  }
}
