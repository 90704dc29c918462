import type { onResponseHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { STREAM_ROUTE } from './sse-hub.js'

const JOIN_ROUTE = '/v1/queue/tokens'

/** A join's answer in words an operator reads on a dashboard. */
function joinOutcome(status: number): string {
  if (status === 201) return 'joined'
  if (status === 200) return 'rejoined'
  if (status === 429) return 'rate_limited'
  if (status === 503) return 'unavailable'
  return 'refused'
}

/**
 * What an operator watches at the gateway during an on-sale, besides what the
 * workers report: joins by outcome (a wall of 429s means the per-IP limit or a
 * proxy without TRUST_PROXY), open SSE streams and refused ones. Counted from the
 * answers (the two routes' onResponse), so the routes stay free of metrics code.
 */
export const gatewayMetricsPlugin = fp(
  async (app) => {
    const registers = [app.metrics]
    const joins = new Counter({
      name: 'queue_join_requests_total',
      help: 'Join requests by outcome: joined (201), rejoined (200), rate_limited (429), unavailable (503), refused (other 4xx)',
      labelNames: ['outcome'],
      registers,
    })
    const refusedStreams = new Counter({
      name: 'queue_sse_streams_refused_total',
      help: 'SSE streams refused with 429 (too many open for the token or the address)',
      registers,
    })
    new Gauge({
      name: 'queue_sse_streams_open',
      help: 'SSE streams open on this copy',
      registers,
      collect() {
        this.set(app.sseLeases.openStreams)
      },
    })
    // Every outcome starts at 0, so a rate() over them works from the first scrape; one child series each.
    const joinSeries = new Map(
      ['joined', 'rejoined', 'rate_limited', 'unavailable', 'refused'].map((outcome) => {
        const series = joins.labels({ outcome })
        series.inc(0)
        return [outcome, series] as const
      }),
    )

    // Hooks of the two routes they count, not of every response (polls are the hot path).
    const countJoin: onResponseHookHandler = (_request, reply, done) => {
      joinSeries.get(joinOutcome(reply.statusCode))?.inc()
      done()
    }
    const countRefusedStream: onResponseHookHandler = (_request, reply, done) => {
      if (reply.statusCode === 429) refusedStreams.inc()
      done()
    }
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat()
      const hook =
        route.url === JOIN_ROUTE && methods.includes('POST')
          ? countJoin
          : route.url === STREAM_ROUTE
            ? countRefusedStream
            : undefined
      if (hook) route.onResponse = [...[route.onResponse ?? []].flat(), hook]
    })
  },
  { name: 'gateway-metrics', dependencies: ['metrics', 'sse-leases'] },
)
