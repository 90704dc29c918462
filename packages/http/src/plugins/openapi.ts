import { type ErrorCode, ProblemSchema } from '@concert/shared'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import {
  type HeaderSchema,
  IDEMPOTENT_REPLAYED_HEADER,
  problemCodes,
  REQUEST_ID_RESPONSE_HEADER,
  withProblems,
} from '../schemas.js'
import { ACCOUNT_TOKEN_COOKIE, ACCOUNT_TOKEN_HEADER } from './account-auth.js'

export interface OpenapiPluginOptions {
  title: string
  description: string
  /** Every tag the app's routes use, with what it groups. */
  tags: Array<{ name: string; description: string }>
  /** The account-JWT security schemes exist only when account auth is on (SPEC §11). */
  accountAuth: boolean
  /** Which of the other security schemes the app's routes use (an unused one is noise in a client). */
  securitySchemes: Array<'queueToken' | 'adminKey'>
}

const SECURITY_SCHEMES = {
  queueToken: { type: 'http', scheme: 'bearer', description: 'Queue token (READY to buy)' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'Operator key, one of ADMIN_API_KEYS' },
} as const

type DocumentedSchema = FastifySchema & {
  hide?: boolean
  operationId?: string
  security?: Array<Record<string, string[]>>
  response?: Record<string, unknown>
  headers?: { properties?: Record<string, unknown> }
}

type DocumentedResponse = { description?: string; headers?: Record<string, HeaderSchema> }

const SUCCESS_DESCRIPTIONS: Record<string, string> = { 200: 'OK', 201: 'Created', 204: 'No content' }

/** `POST /v1/admin/events/:eventId` → `postAdminEventsEventId`, for a route that names no operationId. */
function fallbackOperationId(method: string, url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter((word) => word && !/^v\d+$/.test(word))
  return method.toLowerCase() + words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join('')
}

/**
 * The conventions every documented route follows, so a route declares only what is
 * its own (summary, operationId, success schemas, its domain error codes):
 * - no `security` means public: `security: []`;
 * - input means 400 VALIDATION_FAILED; a body also 413 and 415;
 * - every route may answer 408 and 431 (Node's parser, before routing), and every
 *   route but the load-shedding-exempt ones 503 SERVICE_UNAVAILABLE (a store is
 *   down, or the process sheds load);
 * - every answer carries X-Request-Id; a route that takes an Idempotency-Key says
 *   when a success is a replay (Idempotent-Replayed).
 */
export function documentRoute(route: RouteOptions): void {
  const schema = route.schema as DocumentedSchema | undefined
  if (!schema || schema.hide) return
  const method = Array.isArray(route.method) ? (route.method[0] ?? 'GET') : route.method
  const codes: ErrorCode[] = ['REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE']
  if (schema.params || schema.querystring || schema.body || schema.headers) codes.push('VALIDATION_FAILED')
  if (schema.body) codes.push('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE')
  if (!route.config?.pressureExempt) codes.push('SERVICE_UNAVAILABLE')
  const replayable = schema.headers?.properties?.['idempotency-key'] !== undefined

  const responses = withProblems(schema.response, ...codes)
  for (const [status, response] of Object.entries(responses)) {
    if (problemCodes(response).length > 0) continue
    const documented = response as DocumentedResponse
    const headers: Record<string, HeaderSchema> = {
      ...documented.headers,
      'X-Request-Id': REQUEST_ID_RESPONSE_HEADER,
    }
    if (replayable && status.startsWith('2')) headers['Idempotent-Replayed'] = IDEMPOTENT_REPLAYED_HEADER
    responses[status] = {
      ...documented,
      description: documented.description ?? SUCCESS_DESCRIPTIONS[status] ?? `Status ${status}`,
      headers,
    }
  }
  route.schema = {
    ...schema,
    operationId: schema.operationId ?? fallbackOperationId(method, route.url),
    security: schema.security ?? [],
    response: responses,
  } as FastifySchema
}

/** OpenAPI 3.1 generated from the route schemas: UI at /docs, document at /docs/json. */
export const openapiPlugin = fp<OpenapiPluginOptions>(
  async (app, options) => {
    app.addSchema(ProblemSchema)
    app.addHook('onRoute', documentRoute)
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: options.title,
          description: options.description,
          version: '1.0.0',
          // Not an open-source grant: the code is the project owner's (no LICENSE file says otherwise).
          license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
        },
        // Relative: each deployment serves its own document, so its own address is the server.
        servers: [{ url: '/', description: 'The server that serves this document' }],
        tags: options.tags,
        components: {
          securitySchemes: {
            ...Object.fromEntries(options.securitySchemes.map((name) => [name, SECURITY_SCHEMES[name]])),
            ...(options.accountAuth
              ? {
                  accountToken: {
                    type: 'apiKey',
                    in: 'header',
                    name: ACCOUNT_TOKEN_HEADER,
                    description: 'JWT from the identity provider whose `sub` is the account id',
                  },
                  accountCookie: {
                    type: 'apiKey',
                    in: 'cookie',
                    name: ACCOUNT_TOKEN_COOKIE,
                    description: 'The same JWT as a cookie (the web app); the header wins when both are sent',
                  },
                }
              : {}),
          },
        },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'openapi' },
)
