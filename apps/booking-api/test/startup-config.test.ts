import { baseProcessEnv, type ConnectionCounter, runNode, startConnectionCounter } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * A bad setting stops a process before it touches MySQL or Redis, with one message
 * naming every bad variable (not only the first) and exit status 1. MySQL and
 * Redis are "servers" that count connections, so "before any database work" is
 * measured, not assumed.
 */

let mysql: ConnectionCounter
let redis: ConnectionCounter

beforeAll(async () => {
  mysql = await startConnectionCounter()
  redis = await startConnectionCounter()
})
afterAll(async () => {
  await mysql?.close()
  await redis?.close()
})

const BAD = { DB_POOL_SIZE: 'ten', QUEUE_MAX_ACTIVE: '0', CORS_ORIGINS: 'tickets.example' }

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...baseProcessEnv(),
    MYSQL_URL: `mysql://root@127.0.0.1:${mysql.port}/concert`,
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    GATEWAY_PORT: '0',
    BOOKING_PORT: '0',
    ...BAD,
    ...extra,
  }
}

const TSX = ['--conditions=development', '--import', 'tsx']

describe.each([
  ['queue-gateway', [...TSX, 'apps/queue-gateway/src/server.ts']],
  ['booking-api', [...TSX, 'apps/booking-api/src/server.ts']],
  ['pnpm start', [...TSX, 'scripts/start.ts']],
])('%s with three bad variables', (program, args) => {
  it('exits 1 with one message naming all three, before connecting to MySQL or Redis', async () => {
    const before = { mysql: mysql.connections(), redis: redis.connections() }
    const result = await runNode(args, env())
    expect(result.code).toBe(1)
    // One message: its header, then one line per problem, and nothing else (no stack, no log lines).
    const lines = result.stderr.trimEnd().split('\n')
    expect(lines[0]).toBe(`${program}: cannot start: invalid configuration (3 problems):`)
    expect(lines.slice(1)).toEqual([
      '  - DB_POOL_SIZE must be an integer, got "ten"',
      `  - CORS_ORIGINS must be '*' or comma-separated origins like https://tickets.example, got "tickets.example"`,
      '  - QUEUE_MAX_ACTIVE must be between 1 and 1000000, got 0',
    ])
    expect(result.stdout).toBe('')
    expect({ mysql: mysql.connections(), redis: redis.connections() }).toEqual(before)
  })
})

describe('pnpm start with good settings', () => {
  it('gets past the configuration and then names the store it cannot reach (the counters were asked)', async () => {
    const before = redis.connections()
    const result = await runNode(
      [...TSX, 'scripts/start.ts'],
      env({ DB_POOL_SIZE: '5', QUEUE_MAX_ACTIVE: '10', CORS_ORIGINS: '' }),
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot start: Redis is not reachable at 127\.0\.0\.1:\d+/)
    expect(redis.connections()).toBeGreaterThan(before)
  })
})
