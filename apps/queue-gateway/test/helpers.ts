import type { App } from '@concert/http'
import { appEnv, type TestEnv } from '@concert/testing'
import { buildGatewayApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'

/** A gateway wired to this test file's database and Redis key space. */
export async function buildGateway(
  env: TestEnv,
  overrides: Record<string, string> = {},
  options: { workers?: boolean; poolSize?: number } = {},
): Promise<App> {
  const config = loadGatewayConfig(
    appEnv(env, {
      DB_POOL_SIZE: String(options.poolSize ?? 3),
      ISSUE_RATE_LIMIT_PER_MINUTE: '1000000',
      ...overrides,
    }),
  )
  const app = await buildGatewayApp({ config, logger: false, workers: options.workers ?? false })
  await app.ready()
  return app
}

export { sleep } from '@concert/queue/testing'

export function join(app: App, accountId: string, eventId: number) {
  return app.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId, eventId } })
}
