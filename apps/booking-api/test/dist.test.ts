import type { ChildProcess } from 'node:child_process'
import { migrations } from '@concert/db'
import {
  appEnv,
  baseProcessEnv,
  freePort,
  runCommand,
  runNode,
  startNode,
  stopProcesses,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * What production runs: the compiled JavaScript, started with plain `node` (no tsx,
 * no TypeScript source: the packages resolve to their dist/ builds). The database is
 * created and migrated by the compiled db CLI, and a join runs the queue's Lua
 * scripts as read from dist/, so the build ships migrations and Lua, not only code.
 */

const env = useTestEnv({ migrate: false })
const children: ChildProcess[] = []
let gatewayUrl: string
let bookingUrl: string

async function startApp(entry: string, portVariable: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  const started = startNode([entry], {
    ...baseProcessEnv(),
    ...appEnv(env, { [portVariable]: String(port), LOG_LEVEL: 'warn', DB_POOL_SIZE: '2' }),
  })
  children.push(started.child)
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor(
      async () => {
        if (started.child.exitCode !== null) throw new Error('exited')
        return (await fetch(`${url}/health/ready`)).status === 200
      },
      `${entry} ready`,
      30_000,
    )
  } catch (error) {
    throw new Error(`${String(error)}; output:\n${started.output()}`)
  }
  return { child: started.child, url }
}

beforeAll(async () => {
  const build = await runCommand('pnpm', ['build'], { ...baseProcessEnv(), CI: 'true' }, 240_000)
  if (build.code !== 0) throw new Error(`pnpm build failed:\n${build.stdout}\n${build.stderr}`)
  const seed = await runNode(['packages/db/dist/cli.js', 'seed'], {
    ...baseProcessEnv(),
    MYSQL_URL: env.mysqlUrl,
  })
  if (seed.code !== 0) throw new Error(`db seed from dist failed:\n${seed.stdout}\n${seed.stderr}`)
  gatewayUrl = (await startApp('apps/queue-gateway/dist/server.js', 'GATEWAY_PORT')).url
  bookingUrl = (await startApp('apps/booking-api/dist/server.js', 'BOOKING_PORT')).url
}, 300_000)

afterAll(async () => {
  await stopProcesses(
    children.filter((child) => child.exitCode === null && child.signalCode === null),
    'SIGKILL',
  )
})

describe('the compiled apps, started with node dist/server.js', () => {
  it('migrated the database with the compiled CLI: every migration ran', async () => {
    const ran = await env.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute()
    expect((ran as Array<{ name: string }>).map((row) => row.name)).toEqual(Object.keys(migrations))
  })

  it('serves the fan API: events from booking-api, a join through the Lua scripts in dist/', async () => {
    const events = await fetch(`${bookingUrl}/v1/events`)
    expect(events.status).toBe(200)
    const [event] = (await events.json()) as Array<{ id: number }>
    expect(event?.id).toBeGreaterThan(0)

    const joined = await fetch(`${gatewayUrl}/v1/queue/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'demo-alice', eventId: event?.id }),
    })
    expect(joined.status).toBe(201)
    expect(await joined.json()).toMatchObject({ accountId: 'demo-alice', status: 'WAITING', position: 1 })
  })

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    const exits = children.map(
      (child) => new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    )
    for (const child of children) child.kill('SIGTERM')
    expect(await Promise.all(exits)).toEqual([0, 0])
  })
})
