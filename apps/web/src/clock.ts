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

/** Takes in a `Date` response header received at `receivedAt` (this device's ms). */
export function noteServerDate(header: string | null | undefined, receivedAt = Date.now()): void {
  const server = header ? Date.parse(header) : Number.NaN
  if (!Number.isFinite(server)) return
  // The header is truncated to the second: its middle is the best guess.
  const offset = server + 500 - receivedAt
  offsetMs = Math.abs(offset) > TOLERANCE_MS ? offset : 0
}

/** Now, on the servers' clock (this device's, when it agrees within TOLERANCE_MS). */
export function serverNow(): number {
  return Date.now() + offsetMs
}
