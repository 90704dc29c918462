import { createRequire } from 'node:module'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
    /**
     * Records one answer in `http_request_duration_seconds`, for a response Fastify no
     * longer follows (an SSE stream the route detached from Fastify); the rest are recorded on their own.
     */
    observeRequest(method: string, route: string, status: number, seconds: number): void
  }
}

export interface MetricsPluginOptions {
  /** The `app` label on every series. */
  app: string
  /** Shown by app_build_info (BUILD_REVISION). */
  buildRevision: string
}

const packageVersion = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

/** Label sets whose child series are kept for reuse (far more than the apps' routes × statuses). */
const MAX_CACHED_SERIES = 2_000

/** Routes that are not the API: their latency is not what an operator watches. */
const UNWATCHED = /^\/(docs|metrics)(\/|$)/

/** Node's own metrics (CPU, memory, GC, event-loop lag), one registry per app name in a process. */
const runtimeRegistries = new Map<string, Registry>()

/**
 * The process's runtime metrics, labelled with the app: made once per app name. They are
 * the process's, not one app instance's, and each collectDefaultMetrics call leaves a GC
 * observer and an event-loop delay monitor running for the life of the process: a test
 * process builds hundreds of apps, and would keep every one of them.
 */
function runtimeRegistry(app: string): Registry {
  let registry = runtimeRegistries.get(app)
  if (!registry) {
    registry = new Registry()
    registry.setDefaultLabels({ app })
    collectDefaultMetrics({ register: registry })
    runtimeRegistries.set(app, registry)
  }
  return registry
}

/**
 * One Prometheus registry per app instance (tests build many apps in one
 * process), request latency by route, build info, and GET /metrics in text format
 * (with the process's runtime metrics after the app's).
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, options) => {
    const registry = new Registry()
    registry.setDefaultLabels({ app: options.app })
    const runtime = runtimeRegistry(options.app)
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status (API routes; not /docs or /metrics)',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    })
    new Gauge({
      name: 'app_build_info',
      help: 'Always 1; the labels say which build and Node.js run here',
      labelNames: ['version', 'revision', 'node'],
      registers: [registry],
    }).set({ version: packageVersion, revision: options.buildRevision, node: process.version }, 1)
    app.decorate('metrics', registry)
    // One child series per (method, route, status), looked up by a string key instead of
    // prom-client hashing a label object on every response. Routes are the app's own and
    // statuses few, so the map stays small; past its cap (odd methods) observe() still works.
    const series = new Map<string, { observe(value: number): void }>()
    const seriesOf = (method: string, route: string, status: number) => {
      const key = `${method} ${status} ${route}`
      let child = series.get(key)
      if (!child) {
        child = duration.labels({ method, route, status })
        if (series.size < MAX_CACHED_SERIES) series.set(key, child)
      }
      return child
    }
    app.decorate('observeRequest', (method: string, route: string, status: number, seconds: number) =>
      seriesOf(method, route, status).observe(seconds),
    )
    // A callback hook, not an async one: it runs on every response and needs no promise.
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url
      // The UI's assets would drown the API's latency in static-file timings.
      if (route === undefined || !UNWATCHED.test(route)) {
        seriesOf(request.method, route ?? 'unmatched', reply.statusCode).observe(reply.elapsedTime / 1000)
      }
      done()
    })
    app.get(
      '/metrics',
      { config: { pressureExempt: true }, schema: { hide: true } },
      async (_request, reply) => {
        reply.type(registry.contentType)
        const [own, runtimeText] = await Promise.all([registry.metrics(), runtime.metrics()])
        return own.endsWith('\n') ? own + runtimeText : `${own}\n${runtimeText}`
      },
    )
  },
  { name: 'metrics' },
)

/**
 * The body of a gauge's `collect()` that reads Redis or MySQL. When the store cannot
 * answer, the gauge is left out of this scrape (no stale figure) instead of failing
 * it: otherwise /metrics would answer 503 for the whole outage, hiding the very
 * counters (failed loop ticks, 503s) an alert reads then.
 */
export async function collectOrOmit(gauge: Gauge, read: () => Promise<void>): Promise<void> {
  try {
    await read()
  } catch {
    gauge.reset()
  }
}

/**
 * Gauges labelled `event` that show figures read once per scrape for every event:
 * prom-client collects all metrics of a scrape at once, so the first gauge starts
 * `readAll` and the others share its answer. `readAll` decides what an unreadable
 * event means (left out of the map); `gauge(name, help, figure)` declares one series
 * family, `gauge(…, { label, values })` one with a second label over fixed values.
 */
export function perEventGauges<T>(registers: Registry[], readAll: () => Promise<ReadonlyMap<number, T>>) {
  let reading: Promise<ReadonlyMap<number, T>> | undefined
  const snapshot = () => {
    reading ??= readAll().finally(() => {
      reading = undefined
    })
    return reading
  }
  return function gauge<V extends string>(
    name: string,
    help: string,
    figure: (value: T, labelValue: V) => number,
    second?: { label: string; values: readonly V[] },
  ): Gauge {
    return new Gauge({
      name,
      help,
      labelNames: second ? ['event', second.label] : ['event'],
      registers,
      async collect() {
        const figures = await snapshot()
        this.reset()
        for (const [eventId, value] of figures) {
          if (!second) this.set({ event: eventId }, figure(value, '' as V))
          else
            for (const v of second.values) this.set({ event: eventId, [second.label]: v }, figure(value, v))
        }
      },
    })
  }
}
