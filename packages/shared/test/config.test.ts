import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  describeAddress,
  loadAuthConfig,
  loadHttpConfig,
  loadHttpTimeouts,
  loadInfraConfig,
  loadServiceConfig,
  readInt,
} from '../src/index.js'

describe('infra config', () => {
  it('defaults to the local servers of this machine', () => {
    expect(loadInfraConfig({})).toEqual({
      mysqlUrl: 'mysql://root@127.0.0.1:3306/concert',
      redisUrl: 'redis://127.0.0.1:6379',
      redisCluster: false,
      redisTimeoutMs: 10_000,
      redisKeyPrefix: 'concert:',
      dbPoolSize: 10,
      dbQueryTimeoutMs: 60_000,
      logLevel: 'info',
    })
  })

  it('reads every variable', () => {
    const config = loadInfraConfig({
      MYSQL_URL: 'mysql://u:p@db:3307/x',
      REDIS_URL: 'rediss://cache:6380',
      REDIS_KEY_PREFIX: 'p:',
      REDIS_CLUSTER: '1',
      REDIS_TIMEOUT_MS: '2500',
      DB_POOL_SIZE: '3',
      DB_QUERY_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
    })
    expect(config).toEqual({
      mysqlUrl: 'mysql://u:p@db:3307/x',
      redisUrl: 'rediss://cache:6380',
      redisCluster: true,
      redisTimeoutMs: 2500,
      redisKeyPrefix: 'p:',
      dbPoolSize: 3,
      dbQueryTimeoutMs: 5000,
      logLevel: 'warn',
    })
  })

  it('treats blank values as unset', () => {
    expect(loadInfraConfig({ DB_POOL_SIZE: '  ' }).dbPoolSize).toBe(10)
  })

  it.each([
    [{ DB_POOL_SIZE: 'ten' }, /DB_POOL_SIZE must be an integer/],
    [{ DB_POOL_SIZE: '0' }, /DB_POOL_SIZE must be between 1 and 500/],
    [{ DB_POOL_SIZE: '1.5' }, /DB_POOL_SIZE must be an integer/],
    [{ MYSQL_URL: 'postgres://x' }, /MYSQL_URL must use mysql:/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL must be a URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ REDIS_TIMEOUT_MS: '500' }, /REDIS_TIMEOUT_MS must be between 1000 and 600000/],
    [{ DB_QUERY_TIMEOUT_MS: '0' }, /DB_QUERY_TIMEOUT_MS must be between 1000 and 3600000/],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadInfraConfig(env)).toThrow(ConfigError)
    expect(() => loadInfraConfig(env)).toThrow(message)
  })
})

const DEFAULT_TIMEOUTS = { requestMs: 30_000, headersMs: 10_000, connectionMs: 60_000, keepAliveMs: 72_000 }

describe('http config', () => {
  it('uses the app default port unless overridden', () => {
    expect(loadHttpConfig({}, 'GATEWAY_PORT', 3000)).toEqual({
      host: '127.0.0.1',
      port: 3000,
      corsOrigins: [],
      timeouts: DEFAULT_TIMEOUTS,
    })
    expect(loadHttpConfig({ GATEWAY_PORT: '4000', HOST: '0.0.0.0' }, 'GATEWAY_PORT', 3000)).toEqual({
      host: '0.0.0.0',
      port: 4000,
      corsOrigins: [],
      timeouts: DEFAULT_TIMEOUTS,
    })
    expect(() => loadHttpConfig({ GATEWAY_PORT: '70000' }, 'GATEWAY_PORT', 3000)).toThrow(
      /between 0 and 65535/,
    )
  })
})

describe('http timeouts', () => {
  it('reads every variable', () => {
    expect(
      loadHttpTimeouts({
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_CONNECTION_TIMEOUT_MS: '30000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ requestMs: 5_000, headersMs: 2_000, connectionMs: 30_000, keepAliveMs: 5_000 })
  })

  it('keeps the headers deadline within the request deadline', () => {
    // A short request timeout pulls the default headers timeout down with it.
    expect(loadHttpTimeouts({ HTTP_REQUEST_TIMEOUT_MS: '2000' }).headersMs).toBe(2_000)
    expect(() =>
      loadHttpTimeouts({ HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '3000' }),
    ).toThrow(/HTTP_HEADERS_TIMEOUT_MS \(3000\) must not exceed HTTP_REQUEST_TIMEOUT_MS/)
  })

  it('refuses an idle timeout that would cut an SSE stream between two heartbeats', () => {
    expect(() => loadHttpTimeouts({ HTTP_CONNECTION_TIMEOUT_MS: '10000' })).toThrow(
      /HTTP_CONNECTION_TIMEOUT_MS must be between 20000/,
    )
  })
})

describe('CORS origins', () => {
  it('are off by default, "*" for any, or a list of origins', () => {
    expect(loadHttpConfig({ CORS_ORIGINS: '*' }, 'P', 1).corsOrigins).toBe('*')
    expect(
      loadHttpConfig({ CORS_ORIGINS: 'https://tickets.example, http://localhost:5173' }, 'P', 1).corsOrigins,
    ).toEqual(['https://tickets.example', 'http://localhost:5173'])
    expect(() => loadHttpConfig({ CORS_ORIGINS: 'tickets.example' }, 'P', 1)).toThrow(/CORS_ORIGINS/)
  })
})

describe('helpers', () => {
  it('readInt enforces ranges', () => {
    expect(readInt({ X: '-5' }, 'X', 1, { min: -10 })).toBe(-5)
    expect(() => readInt({ X: '11' }, 'X', 1, { max: 10 })).toThrow(ConfigError)
  })

  it('describes an address without credentials', () => {
    expect(describeAddress('mysql://root:secret@db.local:3307/concert')).toBe('db.local:3307')
    expect(describeAddress('redis://127.0.0.1')).toBe('127.0.0.1:6379')
  })
})

describe('account auth config (SPEC §11)', () => {
  const secret = 's'.repeat(32)

  it('is off by default, with a 30 s clock tolerance', () => {
    expect(loadAuthConfig({})).toEqual({
      keys: undefined,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 30,
    })
  })

  it('reads a JWKS URL or a secret, the issuer, the audience and the tolerance', () => {
    expect(
      loadAuthConfig({
        AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json',
        AUTH_ISSUER: 'https://id.example/',
        AUTH_AUDIENCE: 'tickets',
        AUTH_CLOCK_TOLERANCE_SECONDS: '60',
      }),
    ).toEqual({
      keys: { kind: 'jwks', jwksUrl: 'https://id.example/.well-known/jwks.json' },
      issuer: 'https://id.example/',
      audience: 'tickets',
      clockToleranceSeconds: 60,
    })
    expect(loadAuthConfig({ AUTH_JWT_SECRET: secret }).keys).toEqual({ kind: 'secret', secret })
  })

  it.each([
    [{ AUTH_JWKS_URL: 'https://id.example/jwks', AUTH_JWT_SECRET: secret }, /not both/],
    [{ AUTH_JWT_SECRET: 'short' }, /AUTH_JWT_SECRET must be at least 32 characters/],
    [{ AUTH_JWKS_URL: 'ftp://id.example/jwks' }, /AUTH_JWKS_URL must use/],
    [{ AUTH_JWKS_URL: 'not a url' }, /AUTH_JWKS_URL must be a URL/],
    [{ AUTH_CLOCK_TOLERANCE_SECONDS: '61' }, /AUTH_CLOCK_TOLERANCE_SECONDS must be between 0 and 60/],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadAuthConfig(env)).toThrow(ConfigError)
    expect(() => loadAuthConfig(env)).toThrow(message)
  })

  it('never puts the secret in an error message', () => {
    expect(() => loadAuthConfig({ AUTH_JWT_SECRET: 'hunter2' })).toThrow(/^(?!.*hunter2)/)
  })

  it('is part of every service config', () => {
    expect(loadServiceConfig({ AUTH_JWT_SECRET: secret }, 'P', 1).auth.keys).toEqual({
      kind: 'secret',
      secret,
    })
  })
})
