import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CLIENT_ROOT, GENERATED_FILES, writeClientFiles } from '../scripts/generate.js'

const scratch = await mkdtemp(join(tmpdir(), 'concert-client-'))
afterAll(() => rm(scratch, { recursive: true, force: true }))

describe('the checked-in client', () => {
  it('equals what pnpm client:generate makes from the apps’ OpenAPI documents today', async () => {
    const written = await writeClientFiles(scratch)
    expect(written.sort()).toEqual([...GENERATED_FILES].sort())
    for (const path of GENERATED_FILES) {
      const fresh = await readFile(join(scratch, path), 'utf8')
      const checkedIn = await readFile(join(CLIENT_ROOT, path), 'utf8').catch(() => '(missing)')
      expect(checkedIn, `packages/client/${path} is out of date: run pnpm client:generate`).toBe(fresh)
    }
  })
})
