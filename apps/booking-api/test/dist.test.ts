import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrations } from '@concert/db'
import {
  appEnv,
  baseProcessEnv,
  freePort,
  runCommand,
  runNode,
  startCommand,
  stopProcesses,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * What production runs: the compiled JavaScript, started with plain `node` (no tsx,
 * no TypeScript source: the packages resolve to their dist/ builds). booking-api runs
 * from the folder `pnpm deploy --prod` cuts for it, the very folder docker/Dockerfile
 * copies into its image: dist/ and production dependencies only, workspace packages
 * injected. The gateway runs from the workspace's dist/ (the same build). The
 * database is created and migrated by the compiled db CLI, and a join runs the
 * queue's Lua scripts as read from dist/, so the build ships migrations and Lua.
 */

const env = useTestEnv({ migrate: false })
const children: ChildProcess[] = []
let deployRoot: string
/** booking-api's deploy folder. */
let bookingDir: string
let gatewayUrl: string
let bookingUrl: string

/** Dev tools that must not be in a production folder (pino-pretty: dev dependency of @concert/http). */
const DEV_ONLY = [
  'vitest',
  'tsx',
  'typescript',
  '@biomejs+biome',
  'testcontainers',
  'pino-pretty',
  '@concert+testing',
]

async function startApp(
  command: string[],
  portVariable: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort()
  const [program, ...args] = command
  if (!program) throw new Error('no command')
  const started = startCommand(
    program,
    args,
    {
      ...baseProcessEnv(),
      ...appEnv(env, { [portVariable]: String(port), LOG_LEVEL: 'info', DB_POOL_SIZE: '2' }),
      ...options.env,
    },
    options.cwd ? { cwd: options.cwd } : {},
  )
  children.push(started.child)
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor(
      async () => {
        if (started.child.exitCode !== null) throw new Error('exited')
        return (await fetch(`${url}/health/ready`)).status === 200
      },
      `${command.join(' ')} ready`,
      30_000,
    )
  } catch (error) {
    throw new Error(`${String(error)}; output:\n${started.output()}`)
  }
  return { child: started.child, url, output: started.output }
}

beforeAll(async () => {
  const build = await runCommand('pnpm', ['build'], { ...baseProcessEnv(), CI: 'true' }, 240_000)
  if (build.code !== 0) throw new Error(`pnpm build failed:\n${build.stdout}\n${build.stderr}`)
  deployRoot = await mkdtemp(join(tmpdir(), 'concert-deploy-'))
  bookingDir = join(deployRoot, 'booking-api')
  // As docker/Dockerfile runs it; --offline: everything comes from the store `pnpm install` filled.
  const deploy = await runCommand(
    'pnpm',
    [
      '--filter',
      '@concert/booking-api',
      'deploy',
      '--prod',
      '--offline',
      '--config.inject-workspace-packages=true',
      bookingDir,
    ],
    { ...baseProcessEnv(), CI: 'true' },
    120_000,
  )
  if (deploy.code !== 0) throw new Error(`pnpm deploy failed:\n${deploy.stdout}\n${deploy.stderr}`)
  const seed = await runNode(['packages/db/dist/cli.js', 'seed'], {
    ...baseProcessEnv(),
    MYSQL_URL: env.mysqlUrl,
  })
  if (seed.code !== 0) throw new Error(`db seed from dist failed:\n${seed.stdout}\n${seed.stderr}`)
  gatewayUrl = (await startApp([process.execPath, 'apps/queue-gateway/dist/server.js'], 'GATEWAY_PORT')).url
  // NODE_ENV=production, as the image sets it.
  bookingUrl = (
    await startApp([process.execPath, 'dist/server.js'], 'BOOKING_PORT', {
      cwd: bookingDir,
      env: { NODE_ENV: 'production' },
    })
  ).url
}, 300_000)

afterAll(async () => {
  await stopProcesses(
    children.filter((child) => child.exitCode === null && child.signalCode === null),
    'SIGKILL',
  )
  if (deployRoot) await rm(deployRoot, { recursive: true, force: true })
})

describe('the compiled apps, started with node dist/server.js', () => {
  it('migrated the database with the compiled CLI: every migration ran', async () => {
    const ran = await env.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute()
    expect((ran as Array<{ name: string }>).map((row) => row.name)).toEqual(Object.keys(migrations))
  })

  it('booking-api runs from its `pnpm deploy --prod` folder: dist/ and production dependencies only', async () => {
    expect((await readdir(bookingDir)).sort()).toEqual([
      'dist',
      'node_modules',
      'package.json',
      'pnpm-lock.yaml',
    ])
    const installed = await readdir(join(bookingDir, 'node_modules', '.pnpm'))
    expect(installed.filter((name) => DEV_ONLY.some((tool) => name.startsWith(`${tool}@`)))).toEqual([])
    // The workspace packages are copies (injected) holding their build, not links to the sources.
    for (const name of ['db', 'http', 'queue', 'shared']) {
      const folder = await realpath(join(bookingDir, 'node_modules', '@concert', name))
      expect(folder.startsWith(bookingDir)).toBe(true)
      const entries = await readdir(folder)
      expect(entries).toContain('dist')
      expect(entries.filter((entry) => !['dist', 'node_modules', 'package.json'].includes(entry))).toEqual([])
    }
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

  it('started at a terminal without NODE_ENV (pretty logs wanted, pino-pretty absent): runs, logging JSON lines', async () => {
    // `script` gives the process a pseudo-terminal: stdout.isTTY, as for someone typing the
    // command. Without the fallback pino stops the start: unable to determine transport target.
    const app = await startApp(
      ['script', '-qefc', `${process.execPath} dist/server.js`, '/dev/null'],
      'BOOKING_PORT',
      {
        cwd: bookingDir,
      },
    )
    // What node wrote (before script's own words about the session ending).
    const lines = app
      .output()
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
    const records = lines.map((line) => JSON.parse(line) as { msg?: string })
    expect(records[0]?.msg).toBe('pino-pretty is not installed (a production install): logging JSON lines')
    expect(records.some((record) => record.msg?.startsWith('Server listening at'))).toBe(true)
    const exited = new Promise((resolve) => app.child.once('exit', (code) => resolve(code)))
    app.child.kill('SIGTERM')
    // script hands SIGTERM to node and exits with its status (-e).
    expect(await exited).toBe(0)
  })

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null)
    expect(running).toHaveLength(2)
    const exits = running.map(
      (child) => new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    )
    for (const child of running) child.kill('SIGTERM')
    expect(await Promise.all(exits)).toEqual([0, 0])
  })
})
