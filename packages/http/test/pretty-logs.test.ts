import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { baseProcessEnv, runNode } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { prettyLogTarget } from '../src/pretty-logs.js'

/*
 * pino-pretty is a dev dependency: found where the workspace is installed, absent from a
 * production folder. The deploy folder itself is exercised by apps/booking-api/test/dist.test.ts
 * (started on a terminal, it logs JSON lines instead of failing to start).
 */
describe('prettyLogTarget', () => {
  it('finds pino-pretty where @concert/http is installed with its dev dependencies', () => {
    const target = prettyLogTarget()
    expect(target).toMatch(/[/\\]pino-pretty[/\\]index\.js$/)
    expect(target !== undefined && existsSync(target)).toBe(true)
  })

  it('is undefined where no pino-pretty can be resolved', async () => {
    // In a child without NODE_PATH (pnpm sets it for its scripts, and the running test's
    // require would find pino-pretty through it from anywhere), as a production start has none.
    const folder = await mkdtemp(join(tmpdir(), 'concert-no-pretty-'))
    try {
      const module = join(folder, 'server.js')
      await writeFile(module, '')
      const source = pathToFileURL(fileURLToPath(new URL('../src/pretty-logs.ts', import.meta.url))).href
      const run = await runNode(
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { prettyLogTarget } = await import(${JSON.stringify(source)})
           console.log(JSON.stringify({ here: prettyLogTarget() !== undefined, there: prettyLogTarget(process.argv[1]) ?? null }))`,
          pathToFileURL(module).href,
        ],
        baseProcessEnv(),
      )
      expect(run.stderr).toBe('')
      expect(JSON.parse(run.stdout)).toEqual({ here: true, there: null })
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })
})
