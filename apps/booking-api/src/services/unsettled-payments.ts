import type { FastifyBaseLogger } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'

/** One payment whose outcome is not known yet, and what to do once it is. */
export interface UnsettledPayment {
  /** What the log says it is (never the token: a bearer credential). */
  describe: Record<string, unknown>
  /** Whether the payment committed; throws while MySQL cannot say. */
  committed: () => Promise<boolean>
  /** It committed: finish the sale in Redis, as a payment answered 201 does. */
  finish: () => Promise<void>
  /** It rolled back: give the attempt's claim and seat locks back (if still its own). */
  giveBack: () => Promise<void>
}

/** How a payment left this: its outcome applied, or no answer within GIVE_UP_AFTER_MS. */
type Outcome = 'committed' | 'rolled_back' | 'gave_up'

/** The first pause before asking again, doubled after every failed ask up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 250
const MAX_PAUSE_MS = 5_000
/** Past this, nothing is left to settle but cosmetics: the READY window and the caches have ended. */
const GIVE_UP_AFTER_MS = 15 * 60_000
/** Payments one copy settles at most; past it, one is left to its TTLs as before (and logged). */
const MAX_PENDING = 1_000

/** A pause of about `ms` (±25 %), so payments cut off together do not ask together. */
const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5))

/**
 * Payments whose COMMIT went unanswered while MySQL also could not say whether it landed
 * (it is what failed). The fan got 503; Redis was left as the attempt had it: the claim
 * and the seat locks lapsing within their TTLs, the token READY in its slot, the seats not
 * marked sold, the cached seat maps as before. Nothing wrong can happen meanwhile (QUEUE_TOKEN
 * refuses a second payment, the UNIQUE key a second sale), but a sale that did commit would
 * hold its READY slot until its window ends, and show its seats free until the caches lapse.
 *
 * So each such payment is settled here, in the background: MySQL is asked again, with
 * pauses growing from 250 ms to 5 s (jittered), until it answers and the outcome is applied
 * in Redis, or 15 minutes pass (logged, counted). Both steps are safe whatever happened
 * meanwhile: finishing is told the version the payment wrote (it ends the token whoever
 * holds the claim, and only a committed payment has it), giving back releases only what
 * this attempt still owns. The asks take one lane: an outage cuts off every payment in
 * flight at once, and each ask may hold a pool connection for seconds (the outcome read
 * waits for a COMMIT the server still runs), so they go one at a time, never crowding out
 * the requests. Closing stops every wait.
 *
 * A payment known to have committed whose Redis step failed (Redis away right after the
 * COMMIT) is settled here too, with nothing to ask: its finish is retried until Redis takes it.
 */
export class UnsettledPayments {
  private readonly waits = new Set<NodeJS.Timeout>()
  /** Payments handed to settle() and not yet settled, given up on, or dropped by close(). */
  private pending = 0
  private closed = false
  /** The asks, one after another (see the class comment). */
  private lane: Promise<unknown> = Promise.resolve()
  private readonly outcomes: Counter<'outcome'>

  constructor(
    private readonly log: FastifyBaseLogger,
    registers: Registry[],
  ) {
    const unsettled: Gauge = new Gauge({
      name: 'booking_unsettled_payments',
      help: 'Payments not yet settled in Redis (their COMMIT outcome unknown, or Redis failed a committed sale), being retried in the background',
      registers,
      collect: () => unsettled.set(this.pending),
    })
    this.outcomes = new Counter({
      name: 'booking_payments_settled_total',
      help: 'Payments of unknown outcome settled in the background, by outcome: committed, rolled_back, gave_up',
      labelNames: ['outcome'],
      registers,
    })
  }

  settle(payment: UnsettledPayment): void {
    if (this.closed) return
    if (this.pending >= MAX_PENDING) {
      this.log.error(
        payment.describe,
        'too many payments of unknown outcome to settle; this one is left to its TTLs',
      )
      return
    }
    this.pending += 1
    const deadline = Date.now() + GIVE_UP_AFTER_MS
    const ask = (pauseMs: number): void => {
      const wait = setTimeout(() => {
        this.waits.delete(wait)
        const asked = this.lane.then(() => this.once(payment)).catch(() => undefined)
        this.lane = asked
        void asked.then((settled) => {
          if (this.closed) return
          let outcome: Outcome | undefined = settled
          if (outcome === undefined && Date.now() + pauseMs > deadline) {
            outcome = 'gave_up'
            this.log.error(payment.describe, 'gave up settling a payment whose outcome MySQL could not tell')
          }
          if (outcome === undefined) return ask(Math.min(pauseMs * 2, MAX_PAUSE_MS))
          this.pending -= 1
          this.outcomes.inc({ outcome })
        })
      }, jittered(pauseMs))
      wait.unref()
      this.waits.add(wait)
    }
    ask(FIRST_PAUSE_MS)
  }

  /** One ask, and its outcome applied; undefined while MySQL cannot say or Redis fails the step. */
  private async once(payment: UnsettledPayment): Promise<Exclude<Outcome, 'gave_up'> | undefined> {
    if (this.closed) return undefined
    let committed: boolean
    try {
      committed = await payment.committed()
    } catch {
      return undefined
    }
    // Closed meanwhile: Redis may be gone too; nothing is applied half.
    if (this.closed) return undefined
    try {
      if (committed) await payment.finish()
      else await payment.giveBack()
    } catch (error) {
      // Asked again at the next pause: both steps may run twice.
      this.log.warn({ ...payment.describe, err: error, committed }, 'could not apply a settled payment')
      return undefined
    }
    this.log.info({ ...payment.describe, committed }, 'settled a payment whose outcome was unknown')
    return committed ? 'committed' : 'rolled_back'
  }

  /** Stops every wait (the app is closing); an ask under way applies nothing once it returns. */
  close(): void {
    this.closed = true
    for (const wait of this.waits) clearTimeout(wait)
    this.waits.clear()
    this.pending = 0
  }
}
