import { eventOfToken, type TokenState } from '@concert/queue'
import { AppError } from '@concert/shared'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { paidByMysql } from '../paid-tokens.js'

export interface TokenScope {
  accountId?: string
  eventId?: number
}

export interface TokenRequirement {
  /** LIVE: WAITING or READY; READY: admitted to buy. */
  state: 'LIVE' | 'READY'
  /**
   * Also let through a token that already paid (EXPIRED, reason COMPLETED):
   * reading one's own purchases, or replaying a request by its Idempotency-Key. A token
   * Redis holds as ended otherwise (TIMEOUT, LEFT, its READY window over) is then looked
   * up in QUEUE_TOKEN, which may say it paid (paid-tokens.ts).
   */
  acceptCompleted?: (request: FastifyRequest) => boolean
  /** What the token must belong to. Runs after validation; may throw a 404 for a missing resource. */
  scope: (request: FastifyRequest) => Promise<TokenScope> | TokenScope
  /**
   * Fields of the token's event's catalogue versions to read in the same round trip as
   * the token (a cached catalogue answer's check); the handler finds them in `catalog`.
   */
  catalogFields?: (request: FastifyRequest) => readonly string[]
  /**
   * The handler checks the token itself, inside the Redis step that starts its work
   * (POST /v1/reservations: begin-purchase refuses a token that is not READY), so the
   * request costs one round trip less. The guard then only reads the header and leaves
   * `queueTokenCheck`, whose `check()` gives exactly the answer the guard would have
   * given: the handler calls it whenever it needs the token's state first, or when its
   * own step refused the token or the request, so every answer stays the same.
   */
  checkedByHandler?: true
}

/** A header's token not checked yet: see `checkedByHandler`. */
export interface QueueTokenCheck {
  token: string
  /** The guard's whole check (state, expiry, scope); throws its 401/403/404. */
  check: () => Promise<VerifiedToken>
  /** The check ran and refused the request: the answer is the guard's, not the handler's. */
  refused: boolean
}

/** Catalogue versions of an event, as read with its token. */
export interface CatalogVersionsRead {
  eventId: number
  versions: string[]
}

export interface VerifiedToken {
  token: string
  state: TokenState
  /** The token already paid; only acceptCompleted routes see this. */
  completed: boolean
  /** The values of `catalogFields` for the token's event ('' when unset). */
  catalog?: CatalogVersionsRead
}

declare module 'fastify' {
  interface FastifyContextConfig {
    token?: TokenRequirement
  }
  interface FastifyRequest {
    queueToken?: VerifiedToken
    queueTokenCheck?: QueueTokenCheck
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** The token of a request the guard let through (for handlers of guarded routes). */
export function verifiedToken(request: FastifyRequest): VerifiedToken {
  if (!request.queueToken) throw new Error('route is not guarded by a queue token')
  return request.queueToken
}

/** The token of a `checkedByHandler` route, and the guard's check of it. */
export function uncheckedToken(request: FastifyRequest): QueueTokenCheck {
  if (!request.queueTokenCheck) throw new Error('route does not check its queue token in its handler')
  return request.queueTokenCheck
}

/**
 * One guard for every route that declares `config.token`: reads the Bearer
 * token, checks it against the queue (Redis, via packages/queue) and maps
 * each failure to SPEC §3: missing 401, unknown 401, expired 401, still
 * waiting 403, another account's or event's token 403. A `checkedByHandler`
 * route (POST /v1/reservations) gets the same check to run itself.
 */
export const tokenGuardPlugin = fp(
  async (app) => {
    app.decorateRequest('queueToken', undefined)
    app.decorateRequest('queueTokenCheck', undefined)

    /** The token's state, expiry and scope against the route's requirement (SPEC §3). */
    async function check(
      request: FastifyRequest,
      requirement: TokenRequirement,
      token: string,
    ): Promise<VerifiedToken> {
      const verified = await app.queue.verify(token, requirement.catalogFields?.(request))
      if (!verified.found) throw new AppError('TOKEN_INVALID', 'unknown queue token')
      const { state, now } = verified
      let completed = false
      const ended =
        state.status === 'EXPIRED'
          ? (state.reason ?? 'expired')
          : state.status === 'READY' && state.expiresAt !== null && state.expiresAt <= now
            ? 'TIMEOUT'
            : undefined
      if (ended !== undefined) {
        const mayBeCompleted = requirement.acceptCompleted?.(request) ?? false
        // Redis says the token ended otherwise, but a payment may have committed without
        // Redis hearing of it (paid-tokens.ts): a route a paid token may use asks MySQL,
        // for a token that was READY (none other can have paid).
        completed =
          mayBeCompleted &&
          (ended === 'COMPLETED' || (state.readyAt !== null && (await paidByMysql(app, token))))
        if (!completed) throw new AppError('TOKEN_EXPIRED', `queue token expired (${ended})`)
      } else if (state.status === 'WAITING' && requirement.state === 'READY') {
        throw new AppError('TOKEN_NOT_READY', 'still waiting in the queue; poll the queue gateway')
      }

      const scope = await requirement.scope(request)
      if (scope.accountId !== undefined && scope.accountId !== state.accountId) {
        throw new AppError('TOKEN_SCOPE_MISMATCH', 'the queue token belongs to another account')
      }
      if (scope.eventId !== undefined && scope.eventId !== state.eventId) {
        throw new AppError('TOKEN_SCOPE_MISMATCH', 'the queue token is for another event')
      }
      return {
        token,
        state,
        completed,
        catalog: { eventId: state.eventId, versions: verified.catalog },
      }
    }

    app.addHook('preHandler', async (request) => {
      const requirement = request.routeOptions.config.token
      if (!requirement) return
      const header = request.headers.authorization
      if (!header)
        throw new AppError('TOKEN_MISSING', 'send the queue token as "Authorization: Bearer <token>"')
      const token = BEARER.exec(header)?.[1]
      if (!token) throw new AppError('TOKEN_MISSING', 'the Authorization header must be "Bearer <token>"')

      if (requirement.checkedByHandler) {
        // Not a token at all: refused here, at no cost, as verify would.
        if (eventOfToken(token) === undefined) throw new AppError('TOKEN_INVALID', 'unknown queue token')
        let checked: Promise<VerifiedToken> | undefined
        const unchecked: QueueTokenCheck = {
          token,
          refused: false,
          check: () => {
            checked ??= check(request, requirement, token).catch((error: unknown) => {
              unchecked.refused = true
              throw error
            })
            return checked
          },
        }
        request.queueTokenCheck = unchecked
        return
      }
      request.queueToken = await check(request, requirement, token)
    })
  },
  { name: 'token-guard', dependencies: ['queue'] },
)
