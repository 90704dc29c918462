import { randomUUID } from 'node:crypto'
import { type Database, isDuplicateKey } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import { balanceOf, findAccount, insertAccount } from '../repositories/accounts.repository.js'
import { listReservationsOf } from '../repositories/reservations.repository.js'
import type { Account, AccountReservation, Balance } from '../schemas.js'
import { chargeBalance } from './balance.service.js'

/** Accounts: sign-up, the balance, charges (balance.service holds the money logic) and what an account bought. */
export class AccountService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * A new account with no money; emails are compared trimmed and in lower case.
   * `id` is the account JWT's `sub` when account auth is on, else generated.
   */
  async create(request: { email: string; name: string; id?: string | undefined }): Promise<Account> {
    const id = request.id ?? randomUUID()
    const email = request.email.trim().toLowerCase()
    const name = request.name.trim()
    try {
      await insertAccount(this.db, { id, email, name })
    } catch (error) {
      if (isDuplicateKey(error)) {
        // The id is the JWT's sub when auth is on, so it too can be taken: say which one was.
        // The caller proved it is that account, so naming it (`accountId`) tells them
        // nothing new and lets the web app carry on with the account they already have.
        if (await findAccount(this.db, id))
          throw new AppError('ACCOUNT_EXISTS', `account ${id} already exists`, {
            extensions: { accountId: id },
          })
        throw new AppError('EMAIL_TAKEN', `${email} is already registered`)
      }
      throw error
    }
    const account = await findAccount(this.db, id)
    if (!account) throw new Error('account vanished after insert')
    return {
      id,
      email: account.email,
      name: account.name,
      balance: account.amount,
      createdAt: account.created_at.toISOString(),
    }
  }

  async balance(accountId: string): Promise<Balance> {
    const balance = await balanceOf(this.db, accountId)
    if (balance === undefined) throw new AppError('ACCOUNT_NOT_FOUND', 'no such account')
    return { accountId, balance }
  }

  charge(request: { accountId: string; amount: number; idempotencyKey?: string | undefined }) {
    return chargeBalance(this.db, request)
  }

  async reservations(accountId: string): Promise<AccountReservation[]> {
    return (await listReservationsOf(this.db, accountId)).map((r) => ({
      reservationId: r.reservationId,
      orderId: Number(r.orderId),
      scheduleId: r.scheduleId,
      eventId: r.eventId,
      eventTitle: r.eventTitle,
      date: r.date,
      startTime: r.startTime,
      seatId: r.seatId,
      seatNumber: r.seatNumber,
      area: r.area,
      seatType: r.seatType,
      price: r.price,
      status: r.status,
      reservedAt: r.reservedAt.toISOString(),
      refundedAt: r.refundedAt?.toISOString() ?? null,
    }))
  }
}
