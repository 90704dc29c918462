import { describe, expect, it } from 'vitest'
import { loadGatewayConfig } from '../src/config.js'

describe('gateway configuration', () => {
  it('defaults: port 3000, admission every 100 ms, 600 token requests per IP per minute, 3 streams per token and 50 per IP', () => {
    const config = loadGatewayConfig({})
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 3000, corsOrigins: [] })
    expect(config.http.timeouts).toMatchObject({ requestMs: 30_000, headersMs: 10_000 })
    expect(config).toMatchObject({ admitIntervalMs: 100, issueRateLimitPerMinute: 600, trustProxy: false })
    expect(config).toMatchObject({ sseStreamsPerToken: 3, sseStreamsPerIp: 50 })
    expect(config.queue.maxActive).toBe(200)
    // About 2 s of peak joins (≈ 2,000/s on one gateway): what a Redis loss while MySQL lags may undo.
    expect(config.queueTuning.mirrorMaxBacklog).toBe(4_000)
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
      MIRROR_MAX_BACKLOG: '400',
    })
    expect(config.queueTuning.mirrorMaxBacklog).toBe(400)
    expect(config).toMatchObject({ sseStreamsPerToken: 2, sseStreamsPerIp: 500 })
    expect(config.http.timeouts.requestMs).toBe(5_000)
    expect(() => loadGatewayConfig({ SSE_STREAMS_PER_TOKEN: '0' })).toThrow(/SSE_STREAMS_PER_TOKEN/)
    expect(config).toMatchObject({ admitIntervalMs: 250, issueRateLimitPerMinute: 10, trustProxy: true })
    expect(config.http.port).toBe(4000)
    expect(config.queue.activeTtlSeconds).toBe(60)
    expect(() => loadGatewayConfig({ QUEUE_ADMIT_INTERVAL_MS: '1' })).toThrow(/QUEUE_ADMIT_INTERVAL_MS/)
  })

  it('reads the existence caches, the rate-limit window and the events refresh', () => {
    const defaults = loadGatewayConfig({})
    expect(defaults).toMatchObject({
      eventsRefreshMs: 5_000,
      idleRecheckMs: 5_000,
      issueRateLimitWindowMs: 60_000,
      knownEvents: { hitTtlMs: 60_000, missTtlMs: 5_000, maxEntries: 10_000 },
      knownAccounts: { hitTtlMs: 300_000, missTtlMs: 2_000, maxEntries: 500_000 },
    })
    const config = loadGatewayConfig({
      QUEUE_EVENTS_REFRESH_MS: '1000',
      QUEUE_IDLE_RECHECK_MS: '250',
      ISSUE_RATE_LIMIT_WINDOW_MS: '10000',
      KNOWN_EVENTS_TTL_MS: '1',
      KNOWN_EVENTS_MISS_TTL_MS: '2',
      KNOWN_EVENTS_MAX: '3',
      KNOWN_ACCOUNTS_TTL_MS: '4',
      KNOWN_ACCOUNTS_MISS_TTL_MS: '5',
      KNOWN_ACCOUNTS_MAX: '6',
    })
    expect(config).toMatchObject({
      eventsRefreshMs: 1_000,
      idleRecheckMs: 250,
      issueRateLimitWindowMs: 10_000,
      knownEvents: { hitTtlMs: 1, missTtlMs: 2, maxEntries: 3 },
      knownAccounts: { hitTtlMs: 4, missTtlMs: 5, maxEntries: 6 },
    })
    expect(() => loadGatewayConfig({ KNOWN_ACCOUNTS_MAX: '0' })).toThrow(/KNOWN_ACCOUNTS_MAX/)
    expect(() => loadGatewayConfig({ ISSUE_RATE_LIMIT_WINDOW_MS: '10' })).toThrow(
      /ISSUE_RATE_LIMIT_WINDOW_MS/,
    )
  })
})
