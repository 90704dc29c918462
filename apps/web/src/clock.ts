/**
 * The gateway's clock, as this page can know it. The buying window's end and the sale's
 * opening are instants on the servers' clocks; a phone whose clock is a few minutes off
 * would count down to the wrong moment (Pay refused with time still showing, or greyed
 * out too early). Each answer from the gateway (same origin: its Date header is readable)
 * says the server's time to the second; once this device is off by more than that
 * second's uncertainty, the countdowns use the server's time.
 */
let offsetMs = 0

/** Below this, the Date header's one-second grain is all the difference: left alone. */
const TOLERANCE_MS = 2_000
/** The last answers' estimates, of which the largest is used (see noteServerDate). */
const SAMPLES = 8
const samples: number[] = []

/**
 * Takes in a `Date` response header received at `receivedAt` (this device's ms). An answer
 * slow on its way only makes the server seem further behind, never ahead, so of the last
 * few estimates the largest is the truest.
 */
export function noteServerDate(header: string | null | undefined, receivedAt = Date.now()): void {
  const server = header ? Date.parse(header) : Number.NaN
  if (!Number.isFinite(server)) return
  // The header is truncated to the second: its middle is the best guess.
  samples.push(server + 500 - receivedAt)
  if (samples.length > SAMPLES) samples.shift()
  const offset = Math.max(...samples)
  offsetMs = Math.abs(offset) > TOLERANCE_MS ? offset : 0
}

/** Now, on the servers' clock (this device's, when it agrees within TOLERANCE_MS). */
export function serverNow(): number {
  return Date.now() + offsetMs
}

/** Forgets every answer (tests; a page starts with none). */
export function forgetServerDates(): void {
  samples.length = 0
  offsetMs = 0
}
