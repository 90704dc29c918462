import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

const globalSetup = fileURLToPath(new URL('./global-setup.ts', import.meta.url))

/**
 * Test files at once. Vitest's default, one per core but one, ran the files one after the
 * other on a 2-core machine (780 s, a third of it starting workers and importing), though
 * each file mostly waits: for MySQL, Redis, its child processes and its timers. Every
 * file has a database and Redis key space of its own, so they may overlap.
 */
export const TEST_FILES_AT_ONCE = Math.min(4, availableParallelism() + 1)

/** The one Vitest project config every package and app uses. */
export function concertProject(name: string) {
  return defineProject({
    test: {
      name,
      include: ['test/**/*.test.ts'],
      globalSetup: [globalSetup],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      maxWorkers: TEST_FILES_AT_ONCE,
    },
  })
}
