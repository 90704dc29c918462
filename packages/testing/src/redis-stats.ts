import type { Redis } from 'ioredis'

/**
 * Lua scripts the Redis server has run so far (`INFO commandstats`): EVALSHA, and EVAL,
 * which ioredis sends for a script's first call on a connection. Meaningful on a private
 * redis-server (`useTestEnv({ privateRedis: true })`): the shared one counts every file's.
 */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  const calls = (command: string) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0)
  return calls('evalsha') + calls('eval')
}
