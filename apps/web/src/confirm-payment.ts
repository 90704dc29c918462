/** How often, and how many times, a payment of unknown outcome is sent (see payUntilAnswered). */
export const CONFIRM_PAUSE_MS = 2_000
export const CONFIRM_TRIES = 15

/** What payUntilAnswered reads of a failed call (an ApiError). */
interface Failure {
  status: number
  code: string
  retryAfter?: number | undefined
}

/**
 * A failed payment that may still have gone through: answered 503 or not at all, or 409
 * TOKEN_BUSY (an earlier send of it still running on the server).
 */
export function isUnsure(failure: unknown): boolean {
  const error = failure as Failure
  return error.status === 503 || error.code === 'NETWORK_ERROR' || error.code === 'TOKEN_BUSY'
}

/**
 * The payment's answer. A payment answered 503, or not at all (the network, a server gone),
 * or TOKEN_BUSY (an earlier send still running), may still have gone through: the booking
 * API could not tell (its database away), and settles it once it can. So it is sent again
 * with the same Idempotency-Key, which pays at most once and answers a payment that went
 * through with its first answer: every
 * CONFIRM_PAUSE_MS (or the Retry-After, if longer), up to CONFIRM_TRIES times in all, while
 * `stillHere()` (the fan has not left the page). `onUnsure` runs before each wait.
 * Any other answer (201, or a refusal) ends it.
 */
export async function payUntilAnswered<T>(
  send: () => Promise<T>,
  { onUnsure, stillHere }: { onUnsure: () => void; stillHere: () => boolean },
  pauseMs = CONFIRM_PAUSE_MS,
): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await send()
    } catch (failure) {
      if (!isUnsure(failure) || tries >= CONFIRM_TRIES || !stillHere()) throw failure
      onUnsure()
      const retryAfter = (failure as Failure).retryAfter ?? 0
      await new Promise((resolve) => setTimeout(resolve, Math.max(pauseMs, retryAfter * 1_000)))
      // Left during the wait: nothing more is sent.
      if (!stillHere()) throw failure
    }
  }
}
