import type { App } from '@concert/http'
import { createEvent, insertAccounts, seedCatalog, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

const env = useTestEnv()
let app: App
let accounts: string[]

beforeAll(async () => {
  await seedCatalog(env.db)
  accounts = await insertAccounts(env.db, 2000, { prefix: 'fan' })
  // A MySQL pool of 3 for 2,000 parallel requests: the existence checks must batch.
  app = await buildGateway(env, {}, { poolSize: 3 })
})
afterAll(async () => {
  await app?.close()
})

describe('a flash crowd joining one event', () => {
  it('2,000 concurrent joins from 2,000 accounts get places exactly 1..2,000', async () => {
    const eventId = await createEvent(env.db, 'flash crowd')
    const responses = await Promise.all(accounts.map((id) => join(app, id, eventId)))
    expect(responses.map((r) => r.statusCode)).toEqual(accounts.map(() => 201))
    const tickets = responses.map((r) => r.json())
    expect(tickets.map((t) => t.position).sort((a, b) => a - b)).toEqual(accounts.map((_, i) => i + 1))
    expect(new Set(tickets.map((t) => t.token)).size).toBe(2000)
    for (const t of tickets) expect(t).toMatchObject({ status: 'WAITING', eventId, readyAt: null })

    await app.mirrorWorker.drain(eventId)
    const rows = await env.db
      .selectFrom('QUEUE_TOKEN')
      .select(['token', 'position', 'status'])
      .where('event_id', '=', eventId)
      .orderBy('position')
      .execute()
    expect(rows.map((r) => r.position)).toEqual(accounts.map((_, i) => i + 1))
    const byToken = new Map(tickets.map((t) => [t.token, t.position]))
    for (const row of rows) expect(byToken.get(row.token)).toBe(row.position)
  })

  it('500 concurrent joins by one account give one token and one QUEUE_TOKEN row', async () => {
    const eventId = await createEvent(env.db, 'one account')
    const responses = await Promise.all(Array.from({ length: 500 }, () => join(app, 'fan-7', eventId)))
    const created = responses.filter((r) => r.statusCode === 201)
    const existing = responses.filter((r) => r.statusCode === 200)
    expect(created).toHaveLength(1)
    expect(existing).toHaveLength(499)
    const tokens = new Set(responses.map((r) => r.json().token))
    expect(tokens.size).toBe(1)
    expect(new Set(responses.map((r) => r.json().position))).toEqual(new Set([1]))

    await app.mirrorWorker.drain(eventId)
    const rows = await env.db.selectFrom('QUEUE_TOKEN').selectAll().where('event_id', '=', eventId).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      account_id: 'fan-7',
      position: 1,
      status: 'WAITING',
      token: [...tokens][0],
    })
  })
})
