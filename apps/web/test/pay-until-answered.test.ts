import { describe, expect, it } from 'vitest'
import { CONFIRM_TRIES, payUntilAnswered } from '../src/confirm-payment.js'

/*
 * How the buy page confirms a payment of unknown outcome (confirm-payment.ts): what it sends again
 * and when it stops. The browser walks it against a real booking API that loses MySQL in
 * payment-unconfirmed.test.ts.
 */

/** A failed call as the page's ApiError carries it. */
class Failed extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
  ) {
    super(code)
  }
}
const unavailable = new Failed('SERVICE_UNAVAILABLE', 503)
const offline = new Failed('NETWORK_ERROR', 0)
const taken = new Failed('SEAT_ALREADY_RESERVED', 409)
const busy = new Failed('TOKEN_BUSY', 409)

/** A sender answering `answers` in turn (an error is thrown), and how many times it was called. */
function sender(answers: Array<Failed | string>) {
  const sent = { count: 0 }
  const send = async () => {
    const answer = answers[Math.min(sent.count, answers.length - 1)]
    sent.count += 1
    if (answer instanceof Failed) throw answer
    return answer as string
  }
  return { send, sent }
}

describe('payUntilAnswered', () => {
  it('sends a payment answered 503 or not at all again, until it is answered', async () => {
    const { send, sent } = sender([unavailable, offline, 'paid'])
    let unsure = 0
    const onUnsure = () => {
      unsure += 1
    }
    const answer = await payUntilAnswered(send, { onUnsure, stillHere: () => true }, 1)
    expect(answer).toBe('paid')
    expect(sent.count).toBe(3)
    expect(unsure).toBe(2)
  })

  it('gives any other refusal at once', async () => {
    const { send, sent } = sender([taken])
    await expect(payUntilAnswered(send, { onUnsure: () => {}, stillHere: () => true }, 1)).rejects.toBe(taken)
    expect(sent.count).toBe(1)
  })

  it(`stops after ${CONFIRM_TRIES} sends in all, with the last answer`, async () => {
    const { send, sent } = sender([unavailable])
    await expect(payUntilAnswered(send, { onUnsure: () => {}, stillHere: () => true }, 1)).rejects.toBe(
      unavailable,
    )
    expect(sent.count).toBe(CONFIRM_TRIES)
  })

  it('stops once the fan left the page', async () => {
    const { send, sent } = sender([unavailable])
    // The fan leaves during the second wait: the second answer is the last.
    const stillHere = () => sent.count < 2
    await expect(payUntilAnswered(send, { onUnsure: () => {}, stillHere }, 1)).rejects.toBe(unavailable)
    expect(sent.count).toBe(2)
  })

  it('sends again after TOKEN_BUSY (an earlier send of the payment still running)', async () => {
    const { send, sent } = sender([busy, 'paid'])
    await expect(payUntilAnswered(send, { onUnsure: () => {}, stillHere: () => true }, 1)).resolves.toBe(
      'paid',
    )
    expect(sent.count).toBe(2)
  })

  it('sends nothing more once the fan left during a wait', async () => {
    const { send, sent } = sender([unavailable, 'paid'])
    let left = false
    const onUnsure = () => {
      left = true
    }
    await expect(payUntilAnswered(send, { onUnsure, stillHere: () => !left }, 1)).rejects.toBe(unavailable)
    expect(sent.count).toBe(1)
  })
})
