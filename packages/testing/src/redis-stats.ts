import type { Redis } from 'ioredis'

/**
 * How often the Redis server has run each of `commands` so far (`INFO commandstats`),
 * summed. Meaningful on a private redis-server (`useTestEnv({ privateRedis: true })`):
 * the shared one counts every file's.
 */
export async function commandCalls(redis: Redis, ...commands: string[]): Promise<number> {
  const info = await redis.info('commandstats')
  const calls = (command: string) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0)
  return commands.reduce((sum, command) => sum + calls(command), 0)
}

/**
 * Lua scripts the Redis server has run so far: EVALSHA, and EVAL, which ioredis sends
 * for a script's first call on a connection (see commandCalls).
 */
export function scriptCalls(redis: Redis): Promise<number> {
  return commandCalls(redis, 'evalsha', 'eval')
}
