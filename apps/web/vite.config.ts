import { defineConfig } from 'vite'

/**
 * The fan web app: a static bundle (index.html, one script, one stylesheet, no
 * inline code) that the gateway serves under `/`. `pnpm dev` here proxies the
 * API to a gateway started by `pnpm start`.
 */
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // Workspace packages are read from their TypeScript sources (their `development` export).
  resolve: { conditions: ['development', 'module', 'browser'] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
  server: {
    proxy: {
      '/v1': 'http://localhost:3000',
      '/web-config.json': 'http://localhost:3000',
    },
  },
})
