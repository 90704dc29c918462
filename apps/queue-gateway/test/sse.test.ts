import type { App } from '@concert/http'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join, sseEvents } from './helpers.js'

const env = useTestEnv()
let app: App
let baseUrl: string
let accounts: string[]
let eventId: number

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 6, { prefix: 'sse' })
  eventId = await createEvent(env.db, 'sse')
  app = await buildGateway(
    env,
    { QUEUE_ADMIT_PER_SECOND: '3', QUEUE_ADMIT_INTERVAL_MS: '50' },
    { workers: true },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  baseUrl = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await app?.close()
})

describe('Server-Sent Events', () => {
  it('a streaming client sees its position fall and then READY without polling', async () => {
    // Five fans ahead; the last one to join streams instead of polling.
    for (const id of accounts.slice(0, 5)) expect((await join(app, id, eventId)).statusCode).toBe(201)
    const mine = (await join(app, accounts[5] as string, eventId)).json()
    expect(mine.position).toBeGreaterThan(1)

    const response = await fetch(`${baseUrl}/v1/queue/tokens/${mine.token}/stream`, {
      signal: AbortSignal.timeout(15_000),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const seen: Array<{ status: string; position: number }> = []
    for await (const event of sseEvents(response)) {
      if (event.event !== 'ticket' || !event.data) continue
      const ticket = JSON.parse(event.data)
      seen.push({ status: ticket.status, position: ticket.position })
      if (ticket.status === 'READY') break
    }

    const waiting = seen.filter((s) => s.status === 'WAITING').map((s) => s.position)
    expect(waiting.length).toBeGreaterThanOrEqual(2)
    for (let i = 1; i < waiting.length; i += 1) expect(waiting[i]).toBeLessThan(waiting[i - 1] as number)
    expect(seen.at(-1)).toEqual({ status: 'READY', position: 0 })
  }, 20_000)

  it('exposes queue depth and mirror lag on /metrics', async () => {
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
    expect(metrics).toMatch(new RegExp(`queue_mirror_lag_entries\\{[^}]*event="${eventId}"[^}]*\\} \\d+`))
    expect(metrics).toMatch(/queue_mirror_lag_seconds\{/)
    expect(metrics).toMatch(new RegExp(`queue_admitted_total\\{[^}]*event="${eventId}"[^}]*\\} [1-9]`))
  })

  it('an unknown token gets a problem+json 404 instead of a stream', async () => {
    const response = await fetch(`${baseUrl}/v1/queue/tokens/${eventId}.AAAAAAAAAAAAAAAAAAAAAA/stream`)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ code: 'TOKEN_NOT_FOUND' })
  })

  it('closing the app ends open streams cleanly', async () => {
    const other = await buildGateway(env)
    await other.listen({ port: 0, host: '127.0.0.1' })
    const address = other.server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    const fan = (await join(other, 'sse-1', await createEvent(env.db, 'sse close'))).json()
    const response = await fetch(`http://127.0.0.1:${address.port}/v1/queue/tokens/${fan.token}/stream`)
    const events = sseEvents(response)
    expect((await events.next()).value).toMatchObject({ event: 'ticket' })
    const closed = other.close()
    // The stream ends (done) instead of hanging until a timeout.
    let next = await events.next()
    while (!next.done) next = await events.next()
    await closed
    expect(next.done).toBe(true)
  })
})
