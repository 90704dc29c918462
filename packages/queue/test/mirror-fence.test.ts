import { createDbWithPool } from '@concert/db'
import { insertAccounts, seedCatalog, useTestEnv, waitFor } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MirrorWorker } from '../src/index.js'
import { instantAdmission, readTokenState } from '../src/testing.js'
import { makeQueue, sleep } from './helpers.js'

/*
 * The recovery fence, step by step: a mirror batch read from Redis before it
 * lost its data is held back (its worker waits for its only MySQL connection)
 * until the queue has been rebuilt from QUEUE_TOKEN under the next epoch; then
 * it tries to write. It must be refused: written, it would make QUEUE_TOKEN say
 * what the rebuilt Redis no longer does (READY rows for WAITING tokens).
 */

// A private redis-server: this file FLUSHALLs it.
const env = useTestEnv({ privateRedis: true })
const FANS = 8
let eventId: number
let accounts: string[]
/** The held-back worker's own pool of one connection, which the test can take from it. */
let mirrorPool: ReturnType<typeof createDbWithPool>

beforeAll(async () => {
  ;({ eventId } = await seedCatalog(env.db))
  accounts = await insertAccounts(env.db, FANS, { prefix: 'fence' })
  mirrorPool = createDbWithPool({ url: env.mysqlUrl, poolSize: 1 })
})
afterAll(async () => {
  await mirrorPool?.db.destroy()
})

async function rowsOf(tokens: string[]) {
  const rows = await env.db
    .selectFrom('QUEUE_TOKEN')
    .select(['token', 'status', 'position', 'version'])
    .where('token', 'in', tokens)
    .orderBy('position')
    .execute()
  return rows.map((row) => ({ ...row }))
}

/** Admission ticks until every fan is READY (the token bucket fills over a few ticks); how many were admitted. */
async function admitEveryone(queue: ReturnType<typeof makeQueue>['queue']): Promise<number> {
  let admitted = 0
  for (let tick = 0; tick < 100 && admitted < FANS; tick += 1) {
    admitted += (await queue.admit(eventId)).admitted
    await sleep(10)
  }
  return admitted
}

describe('the mirror across a Redis loss', () => {
  it('a batch read before the loss is fenced when it reaches MySQL after the rebuild', async () => {
    const { queue } = makeQueue(env, instantAdmission)
    const mirror = new MirrorWorker({
      redis: env.redis,
      db: mirrorPool.db,
      prefix: env.keyPrefix,
      consumer: 'held-back',
    })
    const keys = queue.keys(eventId)
    const tokens: string[] = []
    for (const accountId of accounts) tokens.push((await queue.join(eventId, accountId)).ticket.token)
    await mirror.drain(eventId)
    const waitingRows = tokens.map((token, i) => ({ token, status: 'WAITING', position: i + 1, version: 1 }))
    expect(await rowsOf(tokens)).toEqual(waitingRows)
    const epochBefore = Number(await env.redis.get(keys.marker))

    // Every fan is admitted: in Redis only, until the mirror writes the stream's READY states.
    expect(await admitEveryone(queue)).toBe(FANS)
    expect(await env.redis.xlen(keys.stream)).toBe(FANS)

    // The worker's only connection is taken, so its next batch stops between read and write.
    let release: () => void = () => {}
    let taken: () => void = () => {}
    const connectionTaken = new Promise<void>((resolve) => {
      taken = resolve
    })
    const holder = mirrorPool.db.connection().execute(async () => {
      taken()
      await new Promise<void>((resolve) => {
        release = resolve
      })
    })
    await connectionTaken
    const pumping = mirror.pump(eventId)
    await waitFor(
      async () =>
        Number(((await env.redis.xpending(keys.stream, 'mirror')) as [number])[0]) === FANS &&
        mirrorPool.usage().waiting === 1,
      'the batch read and waiting for MySQL',
      5_000,
    )

    // Redis loses everything; the queue is rebuilt from QUEUE_TOKEN under the next epoch.
    await env.localRedis?.flushAll()
    expect(await queue.recovery.recover(eventId)).toMatchObject({
      eventId,
      waiting: FANS,
      ready: 0,
      epoch: epochBefore + 1,
    })
    const rebuilt = await Promise.all(tokens.map((token) => readTokenState(env.redis, keys, token)))
    expect(rebuilt.map((state) => [state?.status, state?.place, state?.version])).toEqual(
      waitingRows.map((row) => [row.status, row.position, row.version]),
    )

    // Now the held-back batch writes: refused, every record of it.
    release()
    await holder
    expect(await pumping).toBe(FANS)
    expect(mirror.fencedTotal).toBe(FANS)
    expect(await rowsOf(tokens)).toEqual(waitingRows)

    // The fence refuses only the old epoch: the rebuilt queue's own changes are mirrored.
    expect(await admitEveryone(queue)).toBe(FANS)
    expect(await mirror.drain(eventId)).toBe(FANS)
    expect(mirror.fencedTotal).toBe(FANS)
    expect(await rowsOf(tokens)).toEqual(waitingRows.map((row) => ({ ...row, status: 'READY', version: 2 })))
  })
})
