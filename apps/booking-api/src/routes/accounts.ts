import { randomUUID } from 'node:crypto'
import { isDuplicateKey } from '@concert/db'
import { AccountIdParams, type App, accountIdInPath, problemResponses } from '@concert/http'
import { AppError } from '@concert/shared'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { balanceOf, findAccount, insertAccount } from '../repositories/accounts.repository.js'
import { listReservationsOf } from '../repositories/reservations.repository.js'
import { ChargeBody, CreateAccountBody, IdempotencyHeaders } from '../schemas.js'
import { chargeBalance } from '../services/balance.service.js'

/** Token scope of the account routes: the account named in the path. */
const pathAccount = (request: FastifyRequest) => ({
  accountId: (request.params as { accountId: string }).accountId,
})

/** Accounts and money: create, balance, charge, and one's own reservations. */
export async function accountRoutes(app: App): Promise<void> {
  app.post(
    '/v1/accounts',
    {
      config: { account: 'from-token' },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account',
        description:
          'With account auth on (AUTH_JWKS_URL or AUTH_JWT_SECRET), the account JWT is required and the new ' +
          'account’s id is its `sub` (409 ACCOUNT_EXISTS the second time); otherwise the id is generated.',
        body: CreateAccountBody,
        response: { 201: Type.Ref('Account'), ...problemResponses(400, 409) },
      },
    },
    async (request, reply) => {
      const id = request.authenticatedAccountId ?? randomUUID()
      const email = request.body.email.trim().toLowerCase()
      const name = request.body.name.trim()
      try {
        await insertAccount(app.db, { id, email, name })
      } catch (error) {
        if (isDuplicateKey(error)) {
          // The id is the JWT's sub when auth is on, so it too can be taken: say which one was.
          if (await findAccount(app.db, id))
            throw new AppError('ACCOUNT_EXISTS', `account ${id} already exists`)
          throw new AppError('EMAIL_TAKEN', `${email} is already registered`)
        }
        throw error
      }
      const account = await findAccount(app.db, id)
      if (!account) throw new Error('account vanished after insert')
      reply.header('location', `/v1/accounts/${id}`)
      return reply.status(201).send({
        id,
        email: account.email,
        name: account.name,
        balance: account.amount,
        createdAt: account.created_at.toISOString(),
      })
    },
  )

  app.get(
    '/v1/accounts/:accountId/balance',
    {
      config: {
        account: accountIdInPath,
        token: {
          state: 'LIVE',
          scope: pathAccount,
        },
      },
      schema: {
        tags: ['accounts'],
        summary: 'Read the balance',
        description: 'Needs this account’s queue token, WAITING or READY.',
        security: [{ queueToken: [] }],
        params: AccountIdParams,
        response: { 200: Type.Ref('Balance'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const balance = await balanceOf(app.db, request.params.accountId)
      if (balance === undefined) throw new AppError('ACCOUNT_NOT_FOUND', 'no such account')
      return { accountId: request.params.accountId, balance }
    },
  )

  app.post(
    '/v1/accounts/:accountId/balance/charge',
    {
      config: { account: accountIdInPath },
      schema: {
        tags: ['accounts'],
        summary: 'Charge the balance',
        description:
          'Adds 1..10,000,000 won (422 outside that range or past 2,147,483,647 in total). With an ' +
          '`Idempotency-Key`, a retry returns the first answer and charges once.',
        params: AccountIdParams,
        headers: IdempotencyHeaders,
        body: ChargeBody,
        response: { 200: Type.Ref('Charge'), ...problemResponses(400, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const result = await chargeBalance(app.db, {
        accountId: request.params.accountId,
        amount: request.body.amount,
        idempotencyKey: request.headers['idempotency-key'],
      })
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      return { accountId: result.accountId, balance: result.balance, charged: result.charged }
    },
  )

  app.get(
    '/v1/accounts/:accountId/reservations',
    {
      config: {
        account: accountIdInPath,
        token: {
          state: 'LIVE',
          // Right after paying, the fan's token is spent; it may still show what it bought.
          acceptCompleted: () => true,
          scope: pathAccount,
        },
      },
      schema: {
        tags: ['accounts'],
        summary: 'List the account’s reservations',
        description: 'Needs this account’s queue token: WAITING, READY, or one that just paid.',
        security: [{ queueToken: [] }],
        params: AccountIdParams,
        response: { 200: Type.Array(Type.Ref('AccountReservation')), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) =>
      (await listReservationsOf(app.db, request.params.accountId)).map((r) => ({
        reservationId: r.reservationId,
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
        reservedAt: r.reservedAt.toISOString(),
      })),
  )
}
