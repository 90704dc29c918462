import type { App } from '@concert/http'
import { commandCalls, startRedisProxy, type TcpProxy, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addShow, admin, buildAdminBooking, createEvent, createVenue } from './admin-helpers.js'

// The events list's version is read once for the requests that come in together
// (SharedRead), yet a change answered before a request is seen by it. A private
// redis-server: the test counts the GETs the server runs.
const env = useTestEnv({ privateRedis: true })
let a: App
let b: App
let far: TcpProxy
let eventId: number

/** How long copy b's Redis answers take on their way back (a far Redis). */
const REPLY_DELAY_MS = 30

beforeAll(async () => {
  a = await buildAdminBooking(env)
  // Copy b reads Redis through a proxy that holds each answer: a read sent before a change
  // is still out, for a while, after the change has been answered.
  const viaFar = await startRedisProxy(env.redisUrl, { replyDelayMs: REPLY_DELAY_MS })
  far = viaFar.proxy
  b = await buildAdminBooking(env, { REDIS_URL: viaFar.url })
  const venue = await createVenue(a, 'List Hall', { seats: 4 })
  eventId = await createEvent(a, venue.id, 'Title 0', { VIP: 10_000, R: 5_000 })
  // The list shows events with a show.
  await addShow(a, eventId, { date: '2031-07-01', startTime: '19:00:00' })
})

afterAll(async () => {
  await a?.close()
  await b?.close()
  await far?.close()
})

const titleOn = async (app: App): Promise<string | undefined> => {
  const response = await app.inject({ method: 'GET', url: '/v1/events' })
  expect(response.statusCode, response.body).toBe(200)
  return (response.json() as Array<{ id: number; title: string }>).find((e) => e.id === eventId)?.title
}

describe('the events list’s version, read together', () => {
  it('200 parallel lists on one copy cost a few GETs, and every answer is the list', async () => {
    await titleOn(b) // cached: the requests below only read the version
    const before = await commandCalls(env.redis, 'get')
    const titles = await Promise.all(Array.from({ length: 200 }, () => titleOn(b)))
    const gets = (await commandCalls(env.redis, 'get')) - before
    expect(gets).toBeGreaterThanOrEqual(1)
    expect(gets).toBeLessThanOrEqual(4)
    expect(new Set(titles)).toEqual(new Set(['Title 0']))
  })

  it('a title changed on one copy is in every list the other copy answers to a request sent after the change was answered, while older reads are out', async () => {
    // Readers keep copy b busy the whole time, and its reads take REPLY_DELAY_MS to come
    // back, so a read of the version is out when each change is answered: one sent before
    // the change, whose answer must not be given to requests sent after it.
    let stop = false
    /** The last change answered (its title is `Title <round>`). */
    let round = 0
    const answers: Array<{ sentAfter: number; got: number }> = []
    let acrossChanges = 0
    const reader = async () => {
      while (!stop) {
        // A pause of its own, so requests keep coming while a read is out (readers in
        // step would all wait for the same read, and none be sent meanwhile).
        await new Promise((resolve) => setTimeout(resolve, Math.random() * REPLY_DELAY_MS))
        const sentAfter = round
        const title = await titleOn(b)
        if (round > sentAfter) acrossChanges += 1
        answers.push({ sentAfter, got: Number(title?.replace('Title ', '') ?? -1) })
      }
    }
    // A reader's failure is kept, and reported below with the rest.
    const readers = Array.from({ length: 20 }, () => reader().catch((error: unknown) => String(error)))
    try {
      for (let next = 1; next <= 20; next += 1) {
        const patched = await admin(a, 'PATCH', `/v1/admin/events/${eventId}`, { title: `Title ${next}` })
        expect(patched.status, JSON.stringify(patched.body)).toBe(200)
        // Every request sent from here on must list this title or a later one (one sent
        // between the answer and this line is held to the older title: a weaker check,
        // never a wrong one).
        round = next
        await new Promise((resolve) => setTimeout(resolve, 2 * REPLY_DELAY_MS))
      }
    } finally {
      stop = true
    }
    expect((await Promise.all(readers)).filter((failure) => failure !== undefined)).toEqual([])
    // Requests were in flight while changes were answered, and many came after each.
    expect(acrossChanges).toBeGreaterThan(0)
    expect(answers.filter((answer) => answer.sentAfter === 20).length).toBeGreaterThan(0)
    expect(answers.filter((answer) => answer.got < answer.sentAfter)).toEqual([])
    expect(Math.max(...answers.map((answer) => answer.got))).toBe(20)
  })
})
