/**
 * Redis bytes per waiting fan: joins N fans (UUID account ids, as the booking
 * API issues them) to one event through the real join script on a private
 * redis-server started with its default settings, then prints the `INFO memory`
 * delta ÷ N. The mirror stream is deleted before measuring, as the mirror
 * drains it in service. MySQL is not involved (the join script alone decides
 * what Redis holds).
 *
 *   node --conditions=development --import tsx scripts/queue-memory.ts [fans=200000]
 */
import { randomUUID } from 'node:crypto'
import { eventKeys, joinArgs, loadScripts, newToken } from '@concert/queue'
import { startLocalRedis } from '@concert/testing'
import { Redis } from 'ioredis'

const FANS = Number(process.argv[2] ?? 200_000)
const EVENT_ID = 1
const PIPELINE = 1_000

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

async function main(): Promise<void> {
  const server = await startLocalRedis()
  const redis = new Redis(server.url)
  try {
    const join = loadScripts().find((script) => script.file.startsWith('join-'))
    if (!join) throw new Error('no join script')
    const sha = (await redis.script('LOAD', join.lua)) as string
    const k = eventKeys('bench:', EVENT_ID)
    await redis.set(k.marker, '1')
    const before = await usedMemory(redis)
    const started = performance.now()
    for (let done = 0; done < FANS; done += PIPELINE) {
      const batch = redis.pipeline()
      for (let i = done; i < Math.min(FANS, done + PIPELINE); i += 1) {
        batch.evalsha(
          sha,
          join.numberOfKeys,
          ...joinArgs(k, newToken(EVENT_ID), randomUUID(), Number.MAX_SAFE_INTEGER),
        )
      }
      const replies = (await batch.exec()) ?? []
      const failed = replies.find(([error, reply]) => error || (reply as string[])[0] !== 'CREATED')
      if (failed) throw new Error(`join failed: ${String(failed[0] ?? failed[1])}`)
    }
    const seconds = (performance.now() - started) / 1000
    await redis.del(k.stream)
    const after = await usedMemory(redis)
    const waiting = await redis.zcard(k.waiting)
    console.log(
      `${waiting} waiting fans: ${((after - before) / waiting).toFixed(1)} B/fan ` +
        `(used_memory ${before} -> ${after}; ${(FANS / seconds).toFixed(0)} joins/s through the script)`,
    )
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

await main()
