/**
 * Small, strict readers for configuration from environment variables.
 * A bad value stops the process with a message naming the variable, instead of
 * surfacing later as NaN somewhere deep in the queue maths. Run a loader through
 * `loadConfig` and every bad variable is reported at once, not only the first.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'

  constructor(
    message: string,
    /** Every problem found, one per bad variable (or pair of variables). */
    readonly problems: readonly string[] = [message],
  ) {
    super(message)
  }
}

export type Env = Record<string, string | undefined>

/**
 * Environments handed out by `loadConfig`: a reader that meets a bad value in one
 * of them notes the problem and goes on with the default, so the loader runs to
 * the end and finds the other bad values too.
 */
const collecting = new WeakMap<Env, string[]>()

/**
 * Reports a bad value: throws when the env is a plain one (a unit test reading one
 * setting), notes it and returns `fallback` when `loadConfig` is collecting.
 */
export function configProblem<T>(env: Env, message: string, fallback: T): T {
  const problems = collecting.get(env)
  if (!problems) throw new ConfigError(message)
  if (!problems.includes(message)) problems.push(message)
  return fallback
}

/**
 * Runs `load` over `env` and throws one ConfigError listing every bad variable,
 * so an operator fixes them all in one go instead of one restart per mistake.
 */
export function loadConfig<T>(load: (env: Env) => T, env: Env = process.env): T {
  const view: Env = { ...env }
  const problems: string[] = []
  collecting.set(view, problems)
  let config: T
  try {
    config = load(view)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const problem of error.problems) if (!problems.includes(problem)) problems.push(problem)
    config = undefined as T
  }
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    throw new ConfigError(
      `invalid configuration (${count}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
      problems,
    )
  }
  return config
}

/**
 * What an entry point does with its configuration: load it all, or print one
 * message naming every bad variable and exit 1, before any database or Redis work.
 */
export function loadConfigOrExit<T>(program: string, load: (env: Env) => T, env: Env = process.env): T {
  try {
    return loadConfig(load, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${program}: cannot start: ${error.message}\n`)
    process.exit(1)
  }
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback
}

export function readInt(
  env: Env,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  const value = raw(env, name)
  if (value === undefined) return fallback
  if (!/^-?\d+$/.test(value))
    return configProblem(env, `${name} must be an integer, got "${value}"`, fallback)
  const parsed = Number(value)
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range
  if (parsed < min || parsed > max)
    return configProblem(env, `${name} must be between ${min} and ${max}, got ${parsed}`, fallback)
  return parsed
}

export function readUrl(env: Env, name: string, fallback: string, protocols: string[]): string {
  const value = raw(env, name) ?? fallback
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return configProblem(env, `${name} must be a URL, got "${value}"`, fallback)
  }
  if (!protocols.includes(url.protocol)) {
    return configProblem(env, `${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`, fallback)
  }
  return value
}

export function readEnum<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const value = raw(env, name)
  if (value === undefined) return fallback
  if (!(allowed as readonly string[]).includes(value)) {
    return configProblem(env, `${name} must be one of ${allowed.join(', ')}, got "${value}"`, fallback)
  }
  return value as T
}

/**
 * A comma-separated list of secrets (API keys). Error messages name the
 * variable and the item's position, never its value: secrets stay out of logs.
 */
export function readSecretList(env: Env, name: string, { minLength }: { minLength: number }): string[] {
  const value = raw(env, name)
  if (value === undefined) return []
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  const bad = items.findIndex(
    (item) => item.length < minLength || item.length > 512 || !/^[\x21-\x7E]+$/.test(item),
  )
  if (bad !== -1) {
    return configProblem(
      env,
      `${name}: item ${bad + 1} must be ${minLength}..512 printable ASCII characters without spaces`,
      [],
    )
  }
  return items
}
