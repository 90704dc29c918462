import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
// Relative import: Vitest's config bundler only inlines files it reaches by path.
import { concertProject } from '../../packages/testing/src/vitest-preset.js'

/** The browser tests: the web app is built once per run (test/build-web.ts) and served by an in-process gateway. */
export default mergeConfig(concertProject('@concert/web'), {
  test: {
    globalSetup: [fileURLToPath(new URL('./test/build-web.ts', import.meta.url))],
    testTimeout: 120_000,
  },
})
