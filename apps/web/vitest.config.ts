import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
// Relative import: Vitest's config bundler only inlines files it reaches by path.
import { concertProject } from '../../packages/testing/src/vitest-preset.js'

/**
 * The browser tests: the web app is built once per run (test/build-web.ts) and served by
 * an in-process gateway. They run after every other project (groupOrder 1), so Chromium
 * shares the machine with the other browser test files only, not with the load and fault
 * tests of the other projects: the one deadline they check (waiting pages show "Sold out"
 * within 2 s of the last sale, timed in each page, sale-lifecycle.test.ts) is not held up
 * by a CPU those tests saturate.
 */
export default mergeConfig(concertProject('@concert/web'), {
  test: {
    globalSetup: [fileURLToPath(new URL('./test/build-web.ts', import.meta.url))],
    testTimeout: 120_000,
    sequence: { groupOrder: 1 },
  },
})
