import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeQueue } from './helpers.js'

/*
 * holes-2.lua counts a range before it lists it (ZCOUNT, halving ranges that hold some
 * places and miss others): its ranges must be exactly those a listing of every member
 * gives, whatever the pattern of gaps.
 */

const env = useTestEnv()

beforeAll(async () => {
  await seedCatalog(env.db)
})

const PLACES = 20_000

/** The gaps of [from, to] as inclusive ranges, adjacent ones joined, from the held places. */
function expectedRanges(held: ReadonlySet<number>, from: number, to: number): number[] {
  const ranges: number[] = []
  for (let place = from; place <= to; place += 1) {
    if (held.has(place)) continue
    const last = ranges.length - 1
    if (last > 0 && ranges[last] === place - 1) ranges[last] = place
    else ranges.push(place, place)
  }
  return ranges
}

describe('holes-2.lua (the gaps of the waiting queue)', () => {
  it('gives exactly the gaps a full listing gives, for dense, sparse, clustered, empty and full queues', async () => {
    const { queue } = makeQueue(env)
    const eventId = await createEvent(env.db, 'holes')
    const [account] = await insertAccounts(env.db, 1, { prefix: 'holes' })
    // A join sets the queue up in Redis (its marker); the waiting set is then written by hand.
    await queue.join(eventId, account as string)
    const waiting = queue.keys(eventId).waiting

    let seed = 11
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const patterns: Record<string, (place: number) => boolean> = {
      'dense (1 % gaps)': () => random() > 0.01,
      half: () => random() > 0.5,
      'sparse (95 % gaps)': () => random() > 0.95,
      'clustered runs': (place) => Math.floor(place / 700) % 3 !== 1 && place % 97 !== 0,
      full: () => true,
      empty: () => false,
    }
    for (const [name, holds] of Object.entries(patterns)) {
      const held = new Set<number>()
      for (let place = 1; place <= PLACES; place += 1) if (holds(place)) held.add(place)
      await env.redis.del(waiting)
      const members = [...held].flatMap((place) => [place, `t${place}`])
      for (let i = 0; i < members.length; i += 10_000) {
        await env.redis.zadd(waiting, ...(members.slice(i, i + 10_000) as Array<string | number>))
      }
      // The feed's slices, and ranges of every size starting and ending anywhere.
      const ranges: Array<[number, number]> = [
        [1, 10_000],
        [10_001, PLACES],
        [1, 1],
        [PLACES, PLACES + 50],
      ]
      for (let i = 0; i < 40; i += 1) {
        const from = 1 + Math.floor(random() * PLACES)
        ranges.push([from, from + Math.floor(random() * 3_000)])
      }
      for (const [from, to] of ranges) {
        const answer = await queue.holes(eventId, from, to)
        expect(answer?.ranges, `${name}: [${from}, ${to}]`).toEqual(expectedRanges(held, from, to))
      }
    }
  })
})
