import { AppError, describeAddress, ProblemSchema, toProblem } from '@concert/shared'
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import { type Static, Type } from 'typebox'

export interface HealthPluginOptions {
  mysqlUrl: string
  redisUrl: string
  /** How long one dependency check may take before it counts as down. */
  timeoutMs?: number
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const CheckSchema = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  detail: Type.String(),
})
type Check = Static<typeof CheckSchema>

/** /health/live (the process answers) and /health/ready (MySQL and Redis really answer). */
export const healthPlugin = fp<HealthPluginOptions>(
  async (app, options) => {
    const timeoutMs = options.timeoutMs ?? 1_500

    app.get(
      '/health/live',
      { schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    )

    app.get(
      '/health/ready',
      {
        schema: {
          tags: ['health'],
          response: {
            200: Type.Object({ status: Type.Literal('ok'), checks: Type.Record(Type.String(), CheckSchema) }),
            // A problem (SPEC §3) that also says which dependency is down.
            503: Type.Object(
              { ...ProblemSchema.properties, checks: Type.Record(Type.String(), CheckSchema) },
              { additionalProperties: true },
            ),
          },
        },
      },
      async (_request, reply) => {
        const probes: Record<string, { address: string; run: () => Promise<unknown> }> = {
          mysql: { address: describeAddress(options.mysqlUrl), run: () => sql`SELECT 1`.execute(app.db) },
          redis: {
            address: describeAddress(options.redisUrl),
            run: async () => {
              // ioredis' own words for a dropped connection are cryptic; say what is going on.
              if (app.redis.status !== 'ready') throw new Error(`not connected (${app.redis.status})`)
              return app.redis.ping()
            },
          },
        }
        const checks: Record<string, Check> = {}
        await Promise.all(
          Object.entries(probes).map(async ([name, probe]) => {
            try {
              await withTimeout(probe.run(), timeoutMs)
              checks[name] = { status: 'up', detail: probe.address }
            } catch (error) {
              const reason = error instanceof Error ? error.message : String(error)
              checks[name] = { status: 'down', detail: `${probe.address}: ${reason}` }
            }
          }),
        )
        const down = Object.keys(checks).filter((name) => checks[name]?.status === 'down')
        if (down.length === 0) return { status: 'ok' as const, checks }
        const problem = toProblem(
          new AppError(
            'SERVICE_UNAVAILABLE',
            `not ready: ${down.map((name) => `${name} is down (${checks[name]?.detail})`).join('; ')}`,
          ),
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
