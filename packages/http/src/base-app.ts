import type { AuthConfig, HttpTimeouts, InfraConfig, OpsConfig } from '@concert/shared'
import { AppError, loadHttpTimeouts } from '@concert/shared'
import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import underPressure from '@fastify/under-pressure'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import { Counter } from 'prom-client'
import { handleClientError } from './client-errors.js'
import { censorLogged, REDACTED_PATHS, redactTokens, serializeError } from './log-redaction.js'
import { ACCOUNT_TOKEN_HEADER, accountAuthPlugin } from './plugins/account-auth.js'
import { errorsPlugin, sendProblem, toAppError } from './plugins/errors.js'
import { healthPlugin } from './plugins/health.js'
import { metricsPlugin } from './plugins/metrics.js'
import { mysqlPlugin } from './plugins/mysql.js'
import { openapiPlugin } from './plugins/openapi.js'
import { redisPlugin } from './plugins/redis.js'
import { REQUEST_ID_HEADER, requestIdOf, requestIdPlugin } from './plugins/request-id.js'
import { prettyLogTarget } from './pretty-logs.js'
import { createValidatorCompiler } from './validation.js'

export interface BaseAppOptions {
  name: string
  title: string
  description: string
  /** The OpenAPI tags of the app's own routes (`health` is added here). */
  tags?: Array<{ name: string; description: string }>
  /** Security schemes the app's routes use besides the account JWT (OpenAPI). */
  securitySchemes?: Array<'queueToken' | 'adminKey'>
  infra: InfraConfig
  /** Who may act for an account (SPEC §11); `keys: undefined` keeps v1's open accounts. */
  auth: AuthConfig
  /** Browser origins allowed by CORS (none by default); a list may send cookies, '*' may not. */
  corsOrigins?: string[] | '*'
  /** Pass `false` to silence logs (tests), or Fastify logger options. */
  logger?: FastifyServerOptions['logger']
  trustProxy?: boolean
  /** How long clients may take; see HttpTimeouts (loadHttpTimeouts gives the defaults). */
  timeouts?: HttpTimeouts
  /** Load shedding, pretty logs and the build revision (defaults: shed past 1 s of loop delay, JSON logs). */
  ops?: OpsConfig
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Answer even when the process sheds load: liveness and metrics must keep telling
     * the operator what is going on exactly when the event loop is struggling.
     */
    pressureExempt?: boolean
  }
}

/** How often the event-loop delay is sampled for load shedding. */
const PRESSURE_SAMPLE_MS = 250

const DEFAULT_OPS: OpsConfig = { maxEventLoopDelayMs: 1_000, buildRevision: 'dev', prettyLogs: false }

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/**
 * What both apps share: TypeBox types, problem+json errors, MySQL and Redis,
 * health, metrics, OpenAPI and the account-JWT check. Each app adds its routes on top.
 */
export async function createBaseApp(options: BaseAppOptions): Promise<App> {
  const timeouts = options.timeouts ?? loadHttpTimeouts({})
  const ops = options.ops ?? DEFAULT_OPS
  const prettyTarget = ops.prettyLogs ? prettyLogTarget() : undefined
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
      // Errors lose what their command was given (log-redaction.ts).
      err: serializeError,
    },
    // Should anything log a request's headers or an error under another key anyway, the
    // credentials and values in them are masked (log-redaction.ts).
    redact: { paths: REDACTED_PATHS, censor: censorLogged },
    // A person at a terminal reads lines, a log collector reads JSON (see OpsConfig.prettyLogs);
    // lines only where pino-pretty is installed (not in a production deploy).
    ...(prettyTarget
      ? {
          transport: {
            target: prettyTarget,
            options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  }
  const app: App = Fastify({
    // Logger options from the caller (a test's level or stream) keep these serializers.
    logger:
      options.logger === undefined
        ? logging
        : typeof options.logger === 'object'
          ? { ...logging, ...options.logger }
          : options.logger,
    bodyLimit: 16 * 1024,
    trustProxy: options.trustProxy ?? false,
    // The caller's X-Request-Id when it is safe, else a UUID; never a per-process counter.
    requestIdHeader: false,
    genReqId: requestIdOf,
    return503OnClosing: true,
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.connectionMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      // Node checks the request and headers deadlines on a timer (30 s by default), so a
      // deadline could pass by up to that much; check often enough to hold it to a quarter.
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(timeouts.headersMs / 4)),
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
    },
    // Oversized headers, a bad request line, a request too slow: problem+json like the rest.
    clientErrorHandler: (error, socket) => handleClientError(error, socket, app.log),
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

  if (ops.prettyLogs && !prettyTarget) {
    app.log.info('pino-pretty is not installed (a production install): logging JSON lines')
  }
  await app.register(errorsPlugin)
  await app.register(requestIdPlugin)
  const origins = options.corsOrigins ?? []
  if (origins === '*' || origins.length > 0) {
    await app.register(cors, {
      origin: origins === '*' ? '*' : origins,
      // The web app carries the account JWT in a cookie (SPEC §11), which a cross-origin
      // fetch sends only when the answer allows credentials. Browsers refuse credentials
      // with `Access-Control-Allow-Origin: *`, and allowing them for any origin would let
      // every site act with the fan's cookie: only a list of origins gets them.
      credentials: origins !== '*',
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: [
        'Authorization',
        'Content-Type',
        'Idempotency-Key',
        ACCOUNT_TOKEN_HEADER,
        REQUEST_ID_HEADER,
      ],
      exposedHeaders: ['Location', 'Retry-After', 'Idempotent-Replayed', REQUEST_ID_HEADER],
      maxAge: 600,
    })
  }
  await app.register(openapiPlugin, {
    title: options.title,
    description: options.description,
    tags: [
      ...(options.tags ?? []),
      { name: 'health', description: 'Liveness and readiness, for orchestrators and load balancers' },
    ],
    accountAuth: options.auth.keys !== undefined,
    securitySchemes: options.securitySchemes ?? [],
  })
  await app.register(metricsPlugin, { app: options.name, buildRevision: ops.buildRevision })
  const shed = new Counter({
    name: 'http_requests_shed_total',
    help: 'Requests answered 503 because the event loop lagged past MAX_EVENT_LOOP_DELAY_MS',
    registers: [app.metrics],
  })
  // The first samples after start measure the schema compilation of app.ready(), not load.
  let settled = false
  app.addHook('onReady', async () => {
    setTimeout(() => {
      settled = true
    }, 2 * PRESSURE_SAMPLE_MS).unref()
  })
  if (ops.maxEventLoopDelayMs > 0) {
    // Shed load with 503 + Retry-After while the event loop lags, instead of letting every
    // request queue behind it until clients time out and retry into an even longer queue.
    await app.register(underPressure, {
      maxEventLoopDelay: ops.maxEventLoopDelayMs,
      sampleInterval: PRESSURE_SAMPLE_MS,
      pressureHandler: (request) => {
        if (!settled || request.routeOptions.config.pressureExempt) return
        shed.inc()
        return Promise.reject(
          new AppError('SERVICE_UNAVAILABLE', 'the server is overloaded, retry shortly', { retryAfter: 2 }),
        )
      },
    })
  }
  await app.register(mysqlPlugin, {
    url: options.infra.mysqlUrl,
    poolSize: options.infra.dbPoolSize,
    queryTimeoutMs: options.infra.dbQueryTimeoutMs,
  })
  await app.register(redisPlugin, {
    url: options.infra.redisUrl,
    cluster: options.infra.redisCluster,
    timeoutMs: options.infra.redisTimeoutMs,
  })
  await app.register(healthPlugin)
  // Before the apps' own plugins, so its preHandler runs ahead of the queue-token guard.
  await app.register(accountAuthPlugin, { auth: options.auth })
  return app
}
