import { type App, accountIdInPath, problemResponses } from '@concert/http'
import { Type } from 'typebox'
import { AccountIdParams, ChargeBody, CreateAccountBody, IdempotencyHeaders } from '../schemas.js'
import type { AccountService } from '../services/account.service.js'
import { accountInPath } from './token-scopes.js'

/** Accounts and money: create, balance, charge, and one's own reservations. */
export async function accountRoutes(app: App, { accounts }: { accounts: AccountService }): Promise<void> {
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
      const account = await accounts.create({ ...request.body, id: request.authenticatedAccountId })
      reply.header('location', `/v1/accounts/${account.id}`)
      return reply.status(201).send(account)
    },
  )

  app.get(
    '/v1/accounts/:accountId/balance',
    {
      config: {
        account: accountIdInPath,
        token: {
          state: 'LIVE',
          scope: accountInPath,
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
    async (request) => accounts.balance(request.params.accountId),
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
      const result = await accounts.charge({
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
          scope: accountInPath,
        },
      },
      schema: {
        tags: ['accounts'],
        summary: 'List the account’s reservations',
        description:
          'Every seat the account bought, one entry per seat (`orderId` groups an order’s seats), with its ' +
          '`status`: SOLD, or REFUNDED once an operator refunded it. Needs this account’s queue token: ' +
          'WAITING, READY, or one that just paid.',
        security: [{ queueToken: [] }],
        params: AccountIdParams,
        response: { 200: Type.Array(Type.Ref('AccountReservation')), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => accounts.reservations(request.params.accountId),
  )
}
