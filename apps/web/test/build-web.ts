/**
 * Vitest globalSetup: builds the web app once per run into a temporary directory
 * (apps/web/dist is left to `pnpm start`); tests serve it through the gateway's
 * WEB_DIST and find it with inject('webDist').
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    webDist: string
  }
}

const WEB_ROOT = fileURLToPath(new URL('..', import.meta.url))

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(join(tmpdir(), 'concert-web-'))
  await build({ root: WEB_ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
  project.provide('webDist', outDir)
  return () => rm(outDir, { recursive: true, force: true })
}
