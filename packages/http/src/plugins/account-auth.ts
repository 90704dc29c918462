import { AppError, type AuthConfig } from '@concert/shared'
import { parse as parseCookies } from 'cookie'
import type { FastifyRequest, FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { createAccountTokenVerifier } from '../account-token.js'
import { withProblems } from '../schemas.js'

/** The header fans send their identity provider's JWT in (SPEC §11). */
export const ACCOUNT_TOKEN_HEADER = 'X-Account-Token'
/** The cookie the web app may carry the same JWT in instead; the header wins when both are sent. */
export const ACCOUNT_TOKEN_COOKIE = 'account_token'

/**
 * What a route declares as `config.account`:
 * - a function returning the account the request acts for (from the validated
 *   path or body): the JWT's `sub` must be that account;
 * - `'from-token'`: the route acts for whichever account the JWT names (creating it).
 */
export type AccountRequirement = ((request: FastifyRequest) => string) | 'from-token'

/** The `accountId` path parameter of `/v1/accounts/{accountId}/…`. */
export const accountIdInPath = (request: FastifyRequest) =>
  (request.params as { accountId: string }).accountId

/** The `accountId` field of a JSON body. */
export const accountIdInBody = (request: FastifyRequest) => (request.body as { accountId: string }).accountId

declare module 'fastify' {
  interface FastifyContextConfig {
    account?: AccountRequirement
  }
  interface FastifyRequest {
    /** The verified JWT's `sub`; undefined when auth is off or the route names no account. */
    authenticatedAccountId: string | undefined
  }
}

export interface AccountAuthPluginOptions {
  auth: AuthConfig
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers[ACCOUNT_TOKEN_HEADER.toLowerCase()]
  const value = Array.isArray(header) ? header.join(', ') : header
  if (value !== undefined && value.trim() !== '') return value.trim()
  const cookies = request.headers.cookie
  return (cookies && parseCookies(cookies)[ACCOUNT_TOKEN_COOKIE]) || undefined
}

type SecurityRequirement = Record<string, string[]>

/** OpenAPI: the route needs the account JWT (header or cookie) besides whatever it already needed. */
function documentAccountToken(route: RouteOptions): void {
  if (!route.config?.account || !route.schema) return
  const schema = route.schema as FastifySchema & {
    security?: SecurityRequirement[]
    response?: Record<string, unknown>
  }
  const base = schema.security?.length ? schema.security : [{}]
  route.schema = {
    ...schema,
    security: base.flatMap((requirement) => [
      { ...requirement, accountToken: [] },
      { ...requirement, accountCookie: [] },
    ]),
    // SERVICE_UNAVAILABLE: the identity provider's keys could not be fetched.
    response: withProblems(
      schema.response,
      'ACCOUNT_AUTH_REQUIRED',
      'ACCOUNT_AUTH_INVALID',
      'ACCOUNT_FORBIDDEN',
      'SERVICE_UNAVAILABLE',
    ),
  }
}

/**
 * SPEC §11. With AUTH_JWKS_URL or AUTH_JWT_SECRET set, every route declaring
 * `config.account` needs `X-Account-Token: <JWT>` (or the `account_token`
 * cookie) whose `sub` is the account it acts for: missing → 401
 * ACCOUNT_AUTH_REQUIRED, bad or expired → 401 ACCOUNT_AUTH_INVALID, another
 * account's → 403 ACCOUNT_FORBIDDEN. It runs as the first preHandler, so a
 * refused request reaches neither the queue-token guard nor the handler and
 * changes nothing. Without either variable it lets everything through, as v1
 * did, and says so once in the log.
 */
export const accountAuthPlugin = fp<AccountAuthPluginOptions>(
  async (app, { auth }) => {
    app.decorateRequest('authenticatedAccountId', undefined)
    const verifier = createAccountTokenVerifier(auth)
    if (!verifier) {
      app.log.warn(
        'accounts are not authenticated: anyone who knows an account id may act for it; ' +
          'set AUTH_JWKS_URL or AUTH_JWT_SECRET to require an account JWT (SPEC §11)',
      )
      return
    }
    app.log.info({ keys: verifier.description }, 'account routes require an account JWT')
    app.addHook('onRoute', documentAccountToken)
    const authenticate = async (request: FastifyRequest, requirement: AccountRequirement) => {
      const token = presentedToken(request)
      if (!token) {
        throw new AppError(
          'ACCOUNT_AUTH_REQUIRED',
          `send the account's JWT as "${ACCOUNT_TOKEN_HEADER}: <JWT>" (or the ${ACCOUNT_TOKEN_COOKIE} cookie)`,
        )
      }
      const subject = await verifier.verify(token)
      if (requirement !== 'from-token' && requirement(request) !== subject) {
        throw new AppError('ACCOUNT_FORBIDDEN', 'the account token belongs to another account')
      }
      request.authenticatedAccountId = subject
    }
    // A callback hook: the routes that name no account (polls, health) pass without a promise.
    app.addHook('preHandler', (request, _reply, done) => {
      const requirement = request.routeOptions.config.account
      if (!requirement) return done()
      authenticate(request, requirement).then(() => done(), done)
    })
  },
  { name: 'account-auth' },
)
