import { loadAuthConfig, loadInfraConfig } from '@concert/shared'
import type { TestEnv } from '@concert/testing'
import { type App, type BaseAppOptions, createBaseApp } from '../src/index.js'

/**
 * A base app as these tests build it: on the test file's MySQL and Redis (`infraEnv` on
 * top of their URLs), no account auth configured, no logs, and `options` over all that.
 */
export function buildTestApp(
  env: Pick<TestEnv, 'mysqlUrl' | 'redisUrl'>,
  options: Partial<BaseAppOptions> = {},
  infraEnv: Record<string, string> = {},
): Promise<App> {
  return createBaseApp({
    name: 'test',
    title: 't',
    description: 't',
    infra: loadInfraConfig({ MYSQL_URL: env.mysqlUrl, REDIS_URL: env.redisUrl, ...infraEnv }),
    auth: loadAuthConfig({}),
    logger: false,
    ...options,
  })
}
