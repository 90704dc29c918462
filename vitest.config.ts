import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
    // Vitest's default (one worker fewer than the cores) runs files one at a time on a
    // 2-core machine, where most of a file's time is spent waiting on MySQL, Redis,
    // timers or the browser: two at a time took the suite from ~550 s to ~370 s there.
    // Each file has its own database and Redis key space (useTestEnv), so files side by
    // side share no state; the one deadline a test checks (web sale-lifecycle: waiting
    // pages say "sold out" within 2 s) held with two browser files at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
