/**
 * Small, strict readers for configuration from environment variables.
 * A bad value stops the process with a message naming the variable, instead of
 * surfacing later as NaN somewhere deep in the queue maths.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Env = Record<string, string | undefined>

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
  if (!/^-?\d+$/.test(value)) throw new ConfigError(`${name} must be an integer, got "${value}"`)
  const parsed = Number(value)
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range
  if (parsed < min || parsed > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${parsed}`)
  return parsed
}

export function readUrl(env: Env, name: string, fallback: string, protocols: string[]): string {
  const value = raw(env, name) ?? fallback
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${value}"`)
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`)
  }
  return value
}

export function readEnum<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const value = raw(env, name)
  if (value === undefined) return fallback
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`)
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
  items.forEach((item, index) => {
    if (item.length < minLength || item.length > 512 || !/^[\x21-\x7E]+$/.test(item)) {
      throw new ConfigError(
        `${name}: item ${index + 1} must be ${minLength}..512 printable ASCII characters without spaces`,
      )
    }
  })
  return items
}
