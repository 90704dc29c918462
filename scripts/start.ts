/**
 * `pnpm start`: the whole system on this machine with demo data.
 * Checks MySQL and Redis (one clear line and exit 1 if either is missing),
 * creates and migrates the database, seeds the demo data (idempotent), builds
 * the fan web app if its build is missing or older than its sources, then runs
 * both apps as child processes until Ctrl-C, which stops them cleanly. The
 * gateway serves the web app; the booking API lets it in through CORS.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadBookingConfig } from '@concert/booking-api'
import { isConnectionError, mysqlUnreachableMessage, setUpDatabase } from '@concert/db'
import { createRedisClient } from '@concert/queue'
import { loadGatewayConfig } from '@concert/queue-gateway'
import { describeAddress, type Env, loadConfigOrExit } from '@concert/shared'

const root = fileURLToPath(new URL('..', import.meta.url))

async function checkRedis(url: string, cluster: boolean): Promise<void> {
  const redis = createRedisClient(url, {
    cluster,
    options: { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null },
  })
  let lastError: Error | undefined
  redis.on('error', (error: Error) => {
    lastError = error
  })
  try {
    await redis.connect()
    await redis.ping()
  } catch (error) {
    const reason = (lastError ?? (error as Error)).message
    throw new Error(
      `Redis is not reachable at ${describeAddress(url)} (${reason}): start redis-server or set REDIS_URL`,
    )
  } finally {
    redis.disconnect()
  }
}

async function prepareDatabase(url: string): Promise<void> {
  try {
    for (const line of await setUpDatabase(url, { seed: true })) console.log(`database: ${line}`)
  } catch (error) {
    throw isConnectionError(error) ? new Error(mysqlUnreachableMessage(url, error)) : error
  }
}

function startApp(name: string, entry: string): ChildProcess {
  // The workspace packages' `development` export is their TypeScript source, which tsx runs.
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', entry], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
    // Their own process group: Ctrl-C reaches only this script, which then stops each
    // app exactly once with SIGTERM (a second signal would make an app skip its drain).
    detached: true,
  })
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping`)
      stop(1)
    }
  })
  return child
}

async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health/ready`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000}s`)
}

/**
 * SPEC §7: the demo's operator API works out of the box. Without ADMIN_API_KEYS a
 * random key is made for this run, handed to booking-api through its environment,
 * and shown once on this console (the apps never log it).
 */
function ensureAdminKey(): string | undefined {
  if (process.env.ADMIN_API_KEYS?.trim()) return undefined
  const key = randomBytes(24).toString('base64url')
  process.env.ADMIN_API_KEYS = key
  return key
}

const WEB_ROOT = join(root, 'apps/web')
/** What the web build is made from: a change to any of these makes the build stale. */
const WEB_SOURCES = [
  join(WEB_ROOT, 'src'),
  join(WEB_ROOT, 'public'),
  join(WEB_ROOT, 'index.html'),
  join(WEB_ROOT, 'vite.config.ts'),
  join(root, 'packages/client/src'),
]

function newestChange(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newestChange(join(path, entry))))
}

/** Builds apps/web into `dist` when there is no build or a source changed since (vite build, a few seconds). */
async function ensureWebBuild(dist: string): Promise<void> {
  const index = join(dist, 'index.html')
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0
  if (builtAt > Math.max(...WEB_SOURCES.map(newestChange))) return
  console.log(builtAt ? 'web app: sources changed, rebuilding' : 'web app: building (first start)')
  const vite = join(WEB_ROOT, 'node_modules/vite/bin/vite.js')
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: WEB_ROOT,
        stdio: 'inherit',
      },
    )
    child.on('error', reject)
    child.on('exit', resolve)
  })
  if (code !== 0)
    throw new Error(`the web app did not build (vite exited with ${code}); run "pnpm install" first`)
}

/**
 * The web app, served by the gateway, calls the booking API from the browser:
 * WEB_BOOKING_URL tells the page where it is, CORS_ORIGINS lets the page's origin in.
 * Settings the user made are kept.
 */
function configureWebApp(gatewayPort: number, bookingPort: number): string {
  process.env.WEB_DIST ||= join(WEB_ROOT, 'dist')
  process.env.WEB_BOOKING_URL ||= `http://localhost:${bookingPort}`
  process.env.CORS_ORIGINS ||= `http://localhost:${gatewayPort},http://127.0.0.1:${gatewayPort}`
  return process.env.WEB_DIST
}

let stopping = false
const children: ChildProcess[] = []

function stop(code: number): void {
  if (stopping) return
  stopping = true
  const alive = children.filter((child) => child.exitCode === null && child.signalCode === null)
  if (alive.length === 0) process.exit(code)
  let remaining = alive.length
  for (const child of alive) {
    child.once('exit', () => {
      remaining -= 1
      if (remaining === 0) process.exit(code)
    })
    child.kill('SIGTERM')
  }
}

/** Both apps' settings, checked together: every bad variable in one message, before any connection. */
function loadAppConfigs(env: Env) {
  return { gateway: loadGatewayConfig(env), booking: loadBookingConfig(env) }
}

async function main(): Promise<void> {
  const configs = loadConfigOrExit('pnpm start', loadAppConfigs)
  const { infra } = configs.gateway
  const gateway = configs.gateway.http
  const booking = configs.booking.http
  await checkRedis(infra.redisUrl, infra.redisCluster)
  await prepareDatabase(infra.mysqlUrl)
  await ensureWebBuild(configureWebApp(gateway.port, booking.port))
  const generatedAdminKey = ensureAdminKey()

  process.on('SIGINT', () => stop(0))
  process.on('SIGTERM', () => stop(0))
  // Never leave detached apps behind, whatever ends this script.
  process.on('exit', () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  })
  children.push(startApp('queue-gateway', 'apps/queue-gateway/src/server.ts'))
  children.push(startApp('booking-api', 'apps/booking-api/src/server.ts'))

  const gatewayUrl = `http://localhost:${gateway.port}`
  const bookingUrl = `http://localhost:${booking.port}`
  await Promise.all([waitUntilReady(gatewayUrl), waitUntilReady(bookingUrl)])
  console.log(
    [
      '',
      `fan web app    ${gatewayUrl}/   (open this in a browser)`,
      `queue-gateway  ${gatewayUrl}   (API docs ${gatewayUrl}/docs)`,
      `booking-api    ${bookingUrl}   (API docs ${bookingUrl}/docs)`,
      'demo accounts  demo-alice, demo-bob, demo-carol — press Ctrl-C to stop',
      generatedAdminKey
        ? `admin key      ${generatedAdminKey}   (made for this run: Authorization: Bearer <key> on /v1/admin/…)`
        : 'admin key      from ADMIN_API_KEYS',
      '',
    ].join('\n'),
  )
}

main().catch((error: unknown) => {
  console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`)
  stopping = false
  stop(1)
})
