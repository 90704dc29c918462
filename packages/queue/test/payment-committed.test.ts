import { createDbWithPool } from '@concert/db'
import { insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { markTokenCompleted, paymentCommitted, type TokenState } from '../src/index.js'
import { instantAdmission } from '../src/testing.js'
import { makeQueue, sleep } from './helpers.js'

/*
 * paymentCommitted answers for a payment whose COMMIT went unanswered. It must not answer
 * from before that COMMIT's outcome: while the transaction still holds the token's row,
 * the read waits for it (a locking read), and only so long.
 */

const env = useTestEnv()
let eventId: number
let accounts: string[]

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, 3, { prefix: 'outcome' })
})

async function claimedToken(accountId: string): Promise<TokenState> {
  const { queue } = makeQueue(env, instantAdmission)
  const { ticket } = await queue.join(eventId, accountId)
  for (let tick = 0; tick < 100; tick += 1) {
    if ((await queue.admit(eventId)).admitted > 0) break
    await sleep(10)
  }
  const claimed = await queue.claim(ticket.token, 'payment', 10_000)
  if (!claimed.ok) throw new Error(`claim refused: ${claimed.reason}`)
  return claimed.state
}

/** A payment's transaction left open after writing its COMPLETED row (its COMMIT not yet run). */
async function openPayment(claimed: TokenState, completedAt: Date) {
  let finish: (commit: boolean) => void = () => {}
  const decided = new Promise<boolean>((resolve) => {
    finish = resolve
  })
  let written: () => void = () => {}
  const wrote = new Promise<void>((resolve) => {
    written = resolve
  })
  const done = env.db
    .transaction()
    .execute(async (trx) => {
      await markTokenCompleted(trx, claimed, completedAt)
      written()
      if (!(await decided)) throw new Error('rolled back')
    })
    .catch(() => undefined)
  await wrote
  return { commit: () => finish(true), rollback: () => finish(false), done }
}

describe('paymentCommitted', () => {
  it('waits for a COMMIT still in progress: true once it lands, false once it rolls back', async () => {
    const [a, b] = accounts as [string, string]
    const at = new Date()
    /** The answer asked while the payment is open, which then commits or rolls back. */
    const answerWhileOpen = async (claimed: TokenState, commit: boolean) => {
      const payment = await openPayment(claimed, at)
      const answer = paymentCommitted(env.db, claimed, at)
      await sleep(200)
      if (commit) payment.commit()
      else payment.rollback()
      await payment.done
      return answer
    }
    const first = await claimedToken(a)
    expect(await answerWhileOpen(first, true)).toBe(true)
    expect(await answerWhileOpen(await claimedToken(b), false)).toBe(false)

    // Another payment time (another attempt's commit), or no row change at all: false.
    expect(await paymentCommitted(env.db, first, new Date(at.getTime() + 1))).toBe(false)
  })

  it('gives up after its wait when the row stays held (the outcome stays unknown), and leaves the connection as it was', async () => {
    const [, , c] = accounts as [string, string, string]
    const claimed = await claimedToken(c)
    const at = new Date()
    const held = await openPayment(claimed, at)
    // One connection: the read's session is the one checked afterwards.
    const single = createDbWithPool({ url: env.mysqlUrl, poolSize: 1 })
    try {
      await expect(paymentCommitted(single.db, claimed, at, 1)).rejects.toMatchObject({ errno: 1205 })
      held.rollback()
      await held.done
      // The connection keeps the server's lock wait, not the read's.
      const { rows } = await sql<{
        session: number
        global: number
      }>`SELECT @@SESSION.innodb_lock_wait_timeout AS session, @@GLOBAL.innodb_lock_wait_timeout AS global`.execute(
        single.db,
      )
      expect(Number(rows[0]?.session)).toBe(Number(rows[0]?.global))
      expect(Number(rows[0]?.session)).not.toBe(1)
    } finally {
      await single.db.destroy()
    }
  })
})
