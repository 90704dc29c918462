import type { InfraConfig } from '@concert/shared'
import { AppError } from '@concert/shared'
import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import { errorsPlugin, sendProblem, toAppError } from './plugins/errors.js'
import { healthPlugin } from './plugins/health.js'
import { metricsPlugin } from './plugins/metrics.js'
import { mysqlPlugin } from './plugins/mysql.js'
import { openapiPlugin } from './plugins/openapi.js'
import { redisPlugin } from './plugins/redis.js'
import { createValidatorCompiler } from './validation.js'

export interface BaseAppOptions {
  name: string
  title: string
  description: string
  infra: InfraConfig
  /** Browser origins allowed by CORS (none by default). */
  corsOrigins?: string[] | '*'
  /** Pass `false` to silence logs (tests), or Fastify logger options. */
  logger?: FastifyServerOptions['logger']
  trustProxy?: boolean
}

/** `/v1/queue/tokens/<token>…` → `/v1/queue/tokens/<redacted>…` for logs. */
export function redactTokens(url: string): string {
  return url.replace(/(\/v1\/queue\/tokens\/)[^/?#]+/, '$1<redacted>')
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/**
 * What both apps share: TypeBox types, problem+json errors, MySQL and Redis,
 * health, metrics and OpenAPI. Each app adds its routes on top.
 */
export async function createBaseApp(options: BaseAppOptions): Promise<App> {
  const logging = {
    level: options.infra.logLevel,
    serializers: {
      // Queue tokens travel in paths (SPEC §3); keep them out of the access log.
      // Headers are never logged: they carry queue tokens and admin keys.
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        url: redactTokens(request.url),
        remoteAddress: request.ip,
      }),
    },
    // Should anything log a request's headers anyway, the credentials in them are masked.
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '<redacted>' },
  }
  const app = Fastify({
    // Logger options from the caller (a test's level or stream) keep these serializers.
    logger:
      options.logger === undefined
        ? logging
        : typeof options.logger === 'object'
          ? { ...logging, ...options.logger }
          : options.logger,
    bodyLimit: 16 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    // Long enough that the route schemas, not the router, decide what is too long.
    routerOptions: { maxParamLength: 256 },
    // Malformed URLs and the like are answered as problem+json too.
    frameworkErrors: (error, _request, reply) =>
      sendProblem(reply, toAppError(error) ?? new AppError('VALIDATION_FAILED', error.message)),
    schemaController: {
      // Fastify types this factory after @fastify/ajv-compiler's internals; ours has the same runtime shape.
      compilersFactory: {
        buildValidator: ((shared: Record<string, unknown>) => createValidatorCompiler(shared)) as never,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorsPlugin)
  const origins = options.corsOrigins ?? []
  if (origins === '*' || origins.length > 0) {
    await app.register(cors, {
      origin: origins === '*' ? '*' : origins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
      exposedHeaders: ['Location', 'Retry-After', 'Idempotent-Replayed'],
      maxAge: 600,
    })
  }
  await app.register(openapiPlugin, { title: options.title, description: options.description })
  await app.register(metricsPlugin, { app: options.name })
  await app.register(mysqlPlugin, { url: options.infra.mysqlUrl, poolSize: options.infra.dbPoolSize })
  await app.register(redisPlugin, { url: options.infra.redisUrl, cluster: options.infra.redisCluster })
  await app.register(healthPlugin, { mysqlUrl: options.infra.mysqlUrl, redisUrl: options.infra.redisUrl })
  return app
}
