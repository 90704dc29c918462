import { burst } from './burst.js'
import { settings } from './config.js'
import { type LoadResult, load, percentile } from './load.js'
import { fmt } from './report.js'

export interface HotSeatOptions {
  bookingUrl: string
  helloUrl: string
  scheduleId: number
  /** The seat every racer of the measured burst asks for. */
  hotSeat: number
  /** One seat per warm-up burst (BENCH_HOT_SEAT_WARM_UPS). */
  warmUpSeats: readonly number[]
  /** READY tokens: hotSeatRacers, plus one per warm-up (each warm-up's winner pays). */
  racerTokens: readonly string[]
}

export interface HotSeatResult {
  winners: number
  loserP50: number
  loserP99: number
  /** The warm-ups' winners: seats sold, counted in the invariants' "sold = 201 answers". */
  warmUpWinners: number
  /** The same burst against the hello-world: its floor. */
  burstFloor: LoadResult
  /** Losers under a steady load (information): a loser's cost per process, over seconds. */
  steadyLosers: LoadResult
}

interface RaceOutcome {
  winners: number
  losers: number[]
  /** Racers whose token is still READY (every 409): they can race again. */
  stillReady: string[]
  /** Answers neither 201 nor 409. */
  others: number
}

/**
 * The hot seat: `hotSeatRacers` requests for one seat at the same instant, over warm
 * connections (burst.ts). Warm-up bursts of the same shape come first, each for a seat
 * of its own, left out of every figure; then the measured race, the same burst against
 * the hello-world after as many warm-ups (the floor), and the losers under steady load.
 */
export async function hotSeatPhase(options: HotSeatOptions): Promise<HotSeatResult> {
  const race = async (name: string, racing: readonly string[], seatId: number, quiet?: true) => {
    const outcome: RaceOutcome = { winners: 0, losers: [], stillReady: [], others: 0 }
    await burst(name, {
      url: options.bookingUrl,
      connections: racing.length,
      // Each racer's connection is open already, as a fan's browser has one from loading the seat map.
      warmUpPath: '/health/live',
      method: 'POST',
      path: '/v1/reservations',
      headers: { 'content-type': 'application/json' },
      request: (i) => ({
        body: JSON.stringify({ scheduleId: options.scheduleId, seatId }),
        headers: { authorization: `Bearer ${racing[i]}` },
      }),
      // A 409 is the right answer for every racer but one.
      okStatuses: [201, 409],
      onResponse: (status, ms, i) => {
        if (status === 201) outcome.winners += 1
        else outcome.losers.push(ms)
        if (status !== 201 && status !== 409) outcome.others += 1
        // A racer whose token did not stay READY (the winner's paid) races no more.
        if (status === 409) outcome.stillReady.push(racing[i] as string)
      },
      ...(quiet ? { quiet } : {}),
    })
    return outcome
  }

  // Warm-up bursts, each for a seat of its own, left out of every figure: a production
  // booking API has served many 409s before a hot seat, and the first bursts a fresh
  // process serves measure V8 compiling the path (a scratch probe of the hello-world
  // burst alone: p99 53, 43, 31, 20 ms over its first rounds, then 7–10 ms).
  let ready = [...options.racerTokens]
  let warmUpWinners = 0
  const warmUpP99s: number[] = []
  for (const [w, seatId] of options.warmUpSeats.entries()) {
    const warmUp = await race(`warm-up ${w + 1}`, ready.slice(0, settings.hotSeatRacers), seatId, true)
    warmUpWinners += warmUp.winners
    warmUpP99s.push(percentile(warmUp.losers, 99))
    if (warmUp.winners !== 1 || warmUp.others > 0)
      console.log(
        `  !! warm-up ${w + 1}: ${warmUp.winners} winners, ${warmUp.others} answers neither 201 nor 409`,
      )
    // Its winner paid; the racers after it take the place (one extra racer per warm-up).
    ready = [...warmUp.stillReady, ...ready.slice(settings.hotSeatRacers)]
  }
  if (warmUpP99s.length > 0)
    console.log(
      `  ${options.warmUpSeats.length} warm-up bursts first, each for a seat of its own (not counted): losers p99 ${warmUpP99s.map(fmt.ms).join(', ')}`,
    )
  const racing = ready.slice(0, settings.hotSeatRacers)
  // Each warm-up was to take one racer (its winner); one that lost more leaves too few.
  if (racing.length < settings.hotSeatRacers)
    throw new Error(`only ${racing.length} racers are still READY after the warm-ups (see the lines above)`)
  const hot = await race('hot seat (201s and 409s)', racing, options.hotSeat)
  const loserP50 = percentile(hot.losers, 50)
  const loserP99 = percentile(hot.losers, 99)
  console.log(
    `  winners ${hot.winners}, losers ${hot.losers.length}: p50 ${fmt.ms(loserP50)}, p99 ${fmt.ms(loserP99)}`,
  )

  // The same burst (warm connections, one request each) against the hello-world, after
  // as many warm-up bursts: what this client and machine take to send and read that
  // many answers at once.
  for (let w = 0; w < options.warmUpSeats.length; w += 1)
    await burst('hello-world, warm-up', {
      url: options.helloUrl,
      connections: settings.hotSeatRacers,
      warmUpPath: '/',
      quiet: true,
    })
  const burstFloor = await burst('hello-world, same burst', {
    url: options.helloUrl,
    connections: settings.hotSeatRacers,
    warmUpPath: '/',
  })

  // Losers under steady load (information): what one costs each process, measured over
  // seconds rather than one burst of ~50 ms, whose /proc figures move by 10 ms ticks.
  const losingRequest = JSON.stringify({ scheduleId: options.scheduleId, seatId: options.hotSeat })
  const steadyLosers = await load('hot-seat losers, steady (409s)', {
    url: options.bookingUrl,
    connections: settings.connections,
    seconds: settings.seconds,
    spread: hot.stillReady.map((token) => ({
      path: '/v1/reservations',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: losingRequest,
    })),
    okStatuses: [409],
    // A POST, but warmed like the reads: the seat is sold, so every answer is a 409.
    warmUp: true,
  })
  return { winners: hot.winners, loserP50, loserP99, warmUpWinners, burstFloor, steadyLosers }
}
