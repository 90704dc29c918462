import { type Database, type Param, prepare } from '@concert/db'
import { tokenReasonQuery } from '@concert/queue'
import type { CompiledQuery, Transaction } from 'kysely'
import { balanceQuery } from './accounts.repository.js'
import { seatsHeldQuery } from './reservations.repository.js'

/*
 * What a payment must know once its guarded debit holds the account row, read in one
 * round trip instead of three: the balance after the debit (the ledger's balance_after),
 * the seats the account holds of the event (its per-account limit, counted under the
 * account lock so parallel orders of one account see each other), and whether the token
 * already paid (QUEUE_TOKEN, the durable backstop behind the Redis claim). Each table's
 * part is its repository's query; only the reads are joined here.
 */

export interface PaymentCheckValues {
  accountId: string
  eventId: number
  token: string
}

export interface PaymentChecks {
  /** The balance after the debit. */
  balance: number
  /** Seats of the event the account holds (SOLD), this order not included. */
  held: number
  /** QUEUE_TOKEN says the token already paid (COMPLETED). */
  paid: boolean
}

const paymentChecksStatement = prepare((db, p: Param<PaymentCheckValues>) =>
  db.selectNoFrom([
    balanceQuery(db, p('accountId')).as('balance'),
    seatsHeldQuery(db, p('accountId'), p('eventId')).as('held'),
    tokenReasonQuery(db, p('token')).as('tokenReason'),
  ]),
)

/**
 * The statement with its values (compiled once, prepare): the bench's purchase floor
 * runs it bare, so it measures this very SQL.
 */
export function paymentChecksQuery(values: PaymentCheckValues): CompiledQuery {
  return paymentChecksStatement.compile(values)
}

/** Inside the payment's transaction, after the debit (which locked the account row). */
export async function readPaymentChecks(
  trx: Transaction<Database>,
  values: PaymentCheckValues,
): Promise<PaymentChecks> {
  const { rows } = await paymentChecksStatement.run(trx, values)
  const row = rows[0]
  return {
    balance: Number(row?.balance ?? 0),
    held: Number(row?.held ?? 0),
    paid: row?.tokenReason === 'COMPLETED',
  }
}
