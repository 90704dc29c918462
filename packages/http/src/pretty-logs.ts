import { createRequire } from 'node:module'

/**
 * Where pino-pretty is installed, resolved from `from` (by default this package, which
 * lists it), or undefined when it is not. It is a dev dependency: a production folder
 * (`pnpm deploy --prod`, the image) has none, so pretty logs asked for there (a terminal,
 * or NODE_ENV=development) must fall back to JSON lines instead of stopping the start
 * with pino's "unable to determine transport target". pino gets the resolved path, so
 * what is checked here is what it loads.
 */
export function prettyLogTarget(from: string = import.meta.url): string | undefined {
  try {
    return createRequire(from).resolve('pino-pretty')
  } catch {
    return undefined
  }
}
