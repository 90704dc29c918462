import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

const globalSetup = fileURLToPath(new URL('./global-setup.ts', import.meta.url))

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
      // Each file has its own database and Redis key space (useTestEnv) and runs in a
      // worker that keeps the modules it already imported: a fresh process per file spent
      // 101 s of a 681 s run importing the same modules again (17 s then). No test mocks modules or leaves globals changed (account-auth's fake Date is
      // restored in a finally), which is what isolation would protect.
      isolate: false,
    },
  })
}
