import { type App, accountIdInPath, LOCATION_HEADER, problemResponses, success } from '@concert/http'
import { Type } from 'typebox'
import { AccountIdParams, ChargeBody, CreateAccountBody, IdempotencyHeaders } from '../schemas.js'
import type { AccountService } from '../services/account.service.js'
import { routeAccount } from './token-scopes.js'

/** Accounts and money: create, balance, charge, and one's own reservations. */
export async function accountRoutes(app: App, { accounts }: { accounts: AccountService }): Promise<void> {
  app.post(
    '/v1/accounts',
    {
      config: { account: 'from-token' },
      schema: {
        tags: ['accounts'],
        operationId: 'createAccount',
        summary: 'Create an account',
        description:
          'With account auth on (AUTH_JWKS_URL or AUTH_JWT_SECRET), the account JWT is required and the new ' +
          'account’s id is its `sub` (409 ACCOUNT_EXISTS the second time); otherwise the id is generated.',
        body: CreateAccountBody,
        response: {
          201: success('The new account, balance 0', Type.Ref('Account'), { Location: LOCATION_HEADER }),
          ...problemResponses('EMAIL_TAKEN', 'ACCOUNT_EXISTS'),
        },
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
          scope: routeAccount,
        },
      },
      schema: {
        tags: ['accounts'],
        operationId: 'getBalance',
        summary: 'Read the balance',
        description: 'Needs this account’s queue token, WAITING or READY.',
        security: [{ queueToken: [] }],
        params: AccountIdParams,
        response: {
          200: success('The balance in won', Type.Ref('Balance')),
          ...problemResponses(
            'TOKEN_MISSING',
            'TOKEN_INVALID',
            'TOKEN_EXPIRED',
            'TOKEN_SCOPE_MISMATCH',
            'ACCOUNT_NOT_FOUND',
          ),
        },
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
        operationId: 'chargeBalance',
        summary: 'Charge the balance',
        description:
          'Adds 1..10,000,000 won (422 outside that range or past 2,147,483,647 in total). With an ' +
          '`Idempotency-Key`, a retry returns the first answer and charges once.',
        params: AccountIdParams,
        headers: IdempotencyHeaders,
        body: ChargeBody,
        response: {
          200: success(
            'Charged (or, with Idempotent-Replayed, the first answer to this key)',
            Type.Ref('Charge'),
          ),
          ...problemResponses('ACCOUNT_NOT_FOUND', 'IDEMPOTENCY_KEY_IN_USE', 'AMOUNT_OUT_OF_RANGE'),
        },
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
          scope: routeAccount,
        },
      },
      schema: {
        tags: ['accounts'],
        operationId: 'listAccountReservations',
        summary: 'List the account’s reservations',
        description:
          'Every seat the account bought, one entry per seat (`orderId` groups an order’s seats), with its ' +
          '`status`: SOLD, or REFUNDED once an operator refunded it. Needs this account’s queue token: ' +
          'WAITING, READY, or one that just paid.',
        security: [{ queueToken: [] }],
        params: AccountIdParams,
        response: {
          200: success(
            'Every reservation of the account, newest first',
            Type.Array(Type.Ref('AccountReservation')),
          ),
          ...problemResponses('TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_SCOPE_MISMATCH'),
        },
      },
    },
    async (request) => accounts.reservations(request.params.accountId),
  )
}
