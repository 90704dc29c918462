import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
// Relative import: Vitest's config bundler only inlines files it reaches by path.
import { concertProject } from '../../packages/testing/src/vitest-preset.js'

/**
 * The browser tests: the web app is built once per run (test/build-web.ts) and served by
 * an in-process gateway. They run after every other project (groupOrder 1), so Chromium
 * does not share the two cores with the load and fault tests and what a fan sees within
 * a deadline (sold out in 2 s) is measured on a machine that is not saturated.
 */
export default mergeConfig(concertProject('@concert/web'), {
  test: {
    globalSetup: [fileURLToPath(new URL('./test/build-web.ts', import.meta.url))],
    testTimeout: 120_000,
    sequence: { groupOrder: 1 },
  },
})
