/**
 * Writes the OpenAPI documents of both apps, as their /docs/json serves them, to a
 * folder (default .openapi/), for `redocly lint` and client generation. The apps
 * are built without their background workers and reach no store: the MySQL pool
 * opens lazily, and a Redis that is not there is only a warning at start.
 *
 *   node --conditions=development --import tsx scripts/openapi.ts [folder]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBookingApp, loadBookingConfig } from '@concert/booking-api'
import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import { type Env, loadConfig } from '@concert/shared'

/** Account auth changes the documents (security and 401/403 on account routes): both variants are written. */
const VARIANTS: Record<string, Env> = {
  '': {},
  '.account-auth': { AUTH_JWT_SECRET: 'openapi-document-only-secret-0123456789' },
}

async function documentOf(build: () => Promise<App>): Promise<unknown> {
  const app = await build()
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}

export async function writeOpenApiDocuments(folder: string): Promise<string[]> {
  mkdirSync(folder, { recursive: true })
  const written: string[] = []
  for (const [suffix, variant] of Object.entries(VARIANTS)) {
    // Only this process's own settings; never a deployment's stores or secrets.
    const env: Env = { REDIS_URL: 'redis://127.0.0.1:1', MAX_EVENT_LOOP_DELAY_MS: '0', ...variant }
    const documents = {
      'queue-gateway': await documentOf(async () =>
        buildGatewayApp({ config: loadConfig(loadGatewayConfig, env), logger: false, workers: false }),
      ),
      'booking-api': await documentOf(async () =>
        buildBookingApp({ config: loadConfig(loadBookingConfig, env), logger: false }),
      ),
    }
    for (const [name, document] of Object.entries(documents)) {
      const file = join(folder, `${name}${suffix}.json`)
      writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`)
      written.push(file)
    }
  }
  return written
}

const folder = process.argv[2] ?? '.openapi'
for (const file of await writeOpenApiDocuments(folder)) console.log(`wrote ${file}`)
