import { describe, expect, it } from 'vitest'
import { loadGatewayConfig } from '../src/config.js'

describe('gateway configuration', () => {
  it('defaults: port 3000, admission every 100 ms, 600 token requests per IP per minute, 3 streams per token and 50 per IP', () => {
    const config = loadGatewayConfig({})
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 3000, corsOrigins: [] })
    expect(config.http.timeouts).toMatchObject({ requestMs: 30_000, headersMs: 10_000 })
    expect(config).toMatchObject({ admitIntervalMs: 100, issueRateLimitPerMinute: 600, trustProxy: false })
    expect(config).toMatchObject({ sseStreamsPerToken: 3, sseStreamsPerIp: 50 })
    expect(config.queue.maxActive).toBe(200)
  })

  it('reads every variable', () => {
    const config = loadGatewayConfig({
      GATEWAY_PORT: '4000',
      QUEUE_ADMIT_INTERVAL_MS: '250',
      ISSUE_RATE_LIMIT_PER_MINUTE: '10',
      TRUST_PROXY: '1',
      QUEUE_ACTIVE_TTL_SECONDS: '60',
      SSE_STREAMS_PER_TOKEN: '2',
      SSE_STREAMS_PER_IP: '500',
      HTTP_REQUEST_TIMEOUT_MS: '5000',
    })
    expect(config).toMatchObject({ sseStreamsPerToken: 2, sseStreamsPerIp: 500 })
    expect(config.http.timeouts.requestMs).toBe(5_000)
    expect(() => loadGatewayConfig({ SSE_STREAMS_PER_TOKEN: '0' })).toThrow(/SSE_STREAMS_PER_TOKEN/)
    expect(config).toMatchObject({ admitIntervalMs: 250, issueRateLimitPerMinute: 10, trustProxy: true })
    expect(config.http.port).toBe(4000)
    expect(config.queue.activeTtlSeconds).toBe(60)
    expect(() => loadGatewayConfig({ QUEUE_ADMIT_INTERVAL_MS: '1' })).toThrow(/QUEUE_ADMIT_INTERVAL_MS/)
  })
})
