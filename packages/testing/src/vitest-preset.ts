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
    },
  })
}
