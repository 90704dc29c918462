/**
 * Vitest globalSetup: decides once per run where MySQL and Redis are.
 * MYSQL_URL / REDIS_URL win; otherwise the local servers on their default ports;
 * only when those do not answer and a Docker engine does, testcontainers
 * starts mysql:8.4 and redis:7 for the run. Workers read the answer via inject().
 */
import type { TestProject } from 'vitest/node'
import { mysqlAnswers, redisAnswers } from './services.js'

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string
    redisUrl: string
  }
}

const LOCAL_MYSQL = 'mysql://root@127.0.0.1:3306/'
const LOCAL_REDIS = 'redis://127.0.0.1:6379'

type Stop = () => Promise<void>

async function startMysqlContainer(): Promise<{ url: string; stop: Stop }> {
  const { MySqlContainer } = await import('@testcontainers/mysql')
  const container = await new MySqlContainer('mysql:8.4').withRootPassword('test').start()
  const url = `mysql://root:test@${container.getHost()}:${container.getPort()}/`
  return { url, stop: async () => void (await container.stop()) }
}

async function startRedisContainer(): Promise<{ url: string; stop: Stop }> {
  const { RedisContainer } = await import('@testcontainers/redis')
  const container = await new RedisContainer('redis:7').start()
  return { url: container.getConnectionUrl(), stop: async () => void (await container.stop()) }
}

async function resolve(
  name: string,
  explicit: string | undefined,
  local: string,
  answers: (url: string) => Promise<boolean>,
  startContainer: () => Promise<{ url: string; stop: Stop }>,
  stops: Stop[],
): Promise<string> {
  const candidate = explicit ?? local
  if (await answers(candidate)) return candidate
  if (explicit) throw new Error(`${name} at ${explicit} does not answer`)
  try {
    const started = await startContainer()
    stops.push(started.stop)
    return started.url
  } catch (error) {
    throw new Error(
      `${name} does not answer at ${local} and no Docker engine could start one (${String(error)}). ` +
        `Start ${name} locally or set ${name === 'MySQL' ? 'MYSQL_URL' : 'REDIS_URL'}.`,
    )
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Stop[] = []
  const mysqlUrl = await resolve(
    'MySQL',
    process.env.MYSQL_URL,
    LOCAL_MYSQL,
    mysqlAnswers,
    startMysqlContainer,
    stops,
  )
  const redisUrl = await resolve(
    'Redis',
    process.env.REDIS_URL,
    LOCAL_REDIS,
    redisAnswers,
    startRedisContainer,
    stops,
  )
  project.provide('mysqlUrl', mysqlUrl)
  project.provide('redisUrl', redisUrl)
  return async () => {
    for (const stop of stops) await stop()
  }
}
