import { AppError, ProblemSchema, toProblem } from '@concert/shared'
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import { type Static, Type } from 'typebox'
import { RETRY_AFTER_HEADER, success } from '../schemas.js'

export interface HealthPluginOptions {
  /** How long one dependency check may take before it counts as down. */
  timeoutMs?: number
}

class CheckTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const CheckSchema = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  detail: Type.String(),
})
type Check = Static<typeof CheckSchema>

/**
 * /health/live (the process answers) and /health/ready (MySQL and Redis really answer).
 * Anyone may call /health/ready, so it names only which dependency is down, in words of
 * its own: never a host, port, URL or a driver's message (which often holds them). The
 * real reason goes to the log, once each time a dependency goes down or comes back.
 */
export const healthPlugin = fp<HealthPluginOptions>(
  async (app, options) => {
    const timeoutMs = options.timeoutMs ?? 1_500
    const probes: Record<string, () => Promise<unknown>> = {
      mysql: () => sql`SELECT 1`.execute(app.db),
      redis: async () => {
        if (app.redis.status !== 'ready') throw new Error(`not connected (${app.redis.status})`)
        return app.redis.ping()
      },
    }
    const lastStatus = new Map<string, Check['status']>()

    async function check(name: string, probe: () => Promise<unknown>): Promise<Check> {
      const started = performance.now()
      let result: Check
      let cause: unknown
      try {
        await withTimeout(probe(), timeoutMs)
        result = { status: 'up', detail: `answered in ${Math.round(performance.now() - started)} ms` }
      } catch (error) {
        cause = error
        result = {
          status: 'down',
          detail: error instanceof CheckTimeout ? `no answer within ${timeoutMs} ms` : 'not reachable',
        }
      }
      if (lastStatus.get(name) !== result.status) {
        lastStatus.set(name, result.status)
        if (result.status === 'down') app.log.warn({ err: cause, dependency: name }, `${name} is down`)
        else app.log.info({ dependency: name }, `${name} is up`)
      }
      return result
    }

    app.get(
      '/health/live',
      // Alive is alive: a process shedding load must not be restarted for it.
      {
        config: { pressureExempt: true },
        schema: {
          tags: ['health'],
          operationId: 'getLiveness',
          summary: 'Liveness: the process answers',
          description: 'Touches no dependency, and answers even while the process sheds load.',
          response: { 200: success('Alive', Type.Object({ status: Type.Literal('ok') })) },
        },
      },
      async () => ({ status: 'ok' as const }),
    )

    app.get(
      '/health/ready',
      {
        schema: {
          tags: ['health'],
          operationId: 'getReadiness',
          summary: 'Readiness: MySQL and Redis answer',
          description:
            'Asks both stores (1.5 s each). 503 names what is down, never where it is; the reason is in the log.',
          response: {
            200: success(
              'Ready: every dependency answered',
              Type.Object({ status: Type.Literal('ok'), checks: Type.Record(Type.String(), CheckSchema) }),
            ),
            // A problem (SPEC §3) that also says which dependency is down.
            503: {
              description: 'Not ready: a dependency is down (or the process sheds load)',
              headers: { 'Retry-After': RETRY_AFTER_HEADER },
              content: {
                'application/problem+json': {
                  schema: Type.Object(
                    {
                      ...ProblemSchema.properties,
                      checks: Type.Optional(Type.Record(Type.String(), CheckSchema)),
                    },
                    { additionalProperties: true },
                  ),
                },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const checks: Record<string, Check> = Object.fromEntries(
          await Promise.all(
            Object.entries(probes).map(async ([name, probe]) => [name, await check(name, probe)] as const),
          ),
        )
        const down = Object.keys(checks).filter((name) => checks[name]?.status === 'down')
        if (down.length === 0) return { status: 'ok' as const, checks }
        const problem = toProblem(
          new AppError(
            'SERVICE_UNAVAILABLE',
            `not ready: ${down.map((name) => `${name} is down`).join('; ')}`,
          ),
          request.id,
        )
        return reply
          .status(503)
          .type('application/problem+json')
          .header('Retry-After', '5')
          .send({ ...problem, checks })
      },
    )
  },
  { name: 'health', dependencies: ['mysql', 'redis'] },
)
