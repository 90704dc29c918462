import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { appEnv, baseProcessEnv, freePort, repoRoot, stopProcesses, useTestEnv } from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * SPEC §7: `pnpm start` with no ADMIN_API_KEYS makes a random admin key for the run,
 * hands it to booking-api and prints it once. Run for real (scripts/start.ts with both
 * apps as its children) on this file's database and Redis key space; the whole console
 * output, the apps' logs included, is kept to count the key in it.
 */
const env = useTestEnv({ migrate: false })
let start: ChildProcess | undefined
let output = ''
let webDist: string
let bookingUrl: string

const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12)

beforeAll(async () => {
  // A build newer than the web sources, so start skips the vite build (the gateway only needs index.html).
  webDist = mkdtempSync(join(tmpdir(), 'concert-web-'))
  writeFileSync(join(webDist, 'index.html'), '<!doctype html><title>demo</title>')
  const [gatewayPort, bookingPort] = [await freePort(), await freePort()]
  bookingUrl = `http://localhost:${bookingPort}`
  const childEnv: Record<string, string> = {
    ...baseProcessEnv(),
    ...appEnv(env, {
      GATEWAY_PORT: String(gatewayPort),
      BOOKING_PORT: String(bookingPort),
      DB_POOL_SIZE: '2',
      WEB_DIST: webDist,
    }),
  }
  expect(childEnv.ADMIN_API_KEYS).toBeUndefined()
  start = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'scripts/start.ts'], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  start.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  start.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const deadline = Date.now() + 120_000
  while (!output.includes('admin key')) {
    if (start.exitCode !== null) throw new Error(`pnpm start exited (${start.exitCode}):\n${output}`)
    if (Date.now() > deadline) throw new Error(`pnpm start was not ready within 120 s:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}, 150_000)
afterAll(async () => {
  // SIGTERM, as Ctrl-C would: start stops both apps (their own process groups) before it exits.
  if (start) await stopProcesses([start])
  rmSync(webDist, { recursive: true, force: true })
})

describe('pnpm start without ADMIN_API_KEYS', () => {
  it('prints a generated admin key once, and booking-api accepts it (and only it)', async () => {
    const printed = /^admin key {6}(\S+) {3}\(made for this run/m.exec(output)
    expect(printed, output).not.toBeNull()
    const key = printed?.[1] as string
    // 24 random bytes, base64url: nothing to guess, nothing a shell or a header needs escaped.
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/)

    const call = (method: string, path: string, authorization?: string, body?: unknown) =>
      fetch(`${bookingUrl}${path}`, {
        method,
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    const created = await call('POST', '/v1/admin/venues', `Bearer ${key}`, {
      name: 'Demo Key Hall',
      timeZone: 'Asia/Seoul',
      seats: [{ seatNumber: '1', area: 'A', seatType: 'R' }],
    })
    expect(created.status).toBe(201)
    const venue = (await created.json()) as { id: number }
    expect((await call('GET', `/v1/admin/venues/${venue.id}`, `Bearer ${key}`)).status).toBe(200)
    for (const wrong of [undefined, `Bearer ${key.slice(0, -1)}`, `Bearer ${key}x`, key]) {
      const refused = await call('GET', `/v1/admin/venues/${venue.id}`, wrong)
      expect(refused.status, String(wrong)).toBe(401)
    }
    // The write is recorded under the key's id, never the key.
    const audit = await env.db
      .selectFrom('ADMIN_AUDIT')
      .selectAll()
      .where('route', '=', '/v1/admin/venues')
      .where('target_id', '=', venue.id)
      .execute()
    expect(audit.map((row) => row.key_id)).toEqual([keyId(key)])
    expect(JSON.stringify(audit)).not.toContain(key)

    // Once on the console, whatever the apps logged of these requests and of their shutdown.
    if (start) await stopProcesses([start])
    expect(start?.exitCode).toBe(0)
    expect(output).toContain('/v1/admin/venues')
    expect(output.split(key).length - 1, output).toBe(1)
  }, 60_000)
})
