import { type SerializedError, err as standardError } from 'pino-std-serializers'

/*
 * What the apps' logs never hold: queue tokens (bearer credentials), admin keys, account
 * ids, Idempotency-Keys. Requests are logged by method, URL (tokens cut out) and address;
 * errors carry what their command was given, and lose it here:
 *   - ioredis puts a failed command's arguments on its error (`command.args`: a script's
 *     hold queue tokens), and on each of an aborted transaction's `previousErrors`;
 *   - mysql2 puts the statement with its values written in (`sql`), and the server's
 *     message quotes values too (`sqlMessage`, copied into `message` and `stack`: "Duplicate
 *     entry '…' for key …", "Incorrect integer value: '…'").
 * A logged error keeps the Redis command's name and the statement's and message's shape,
 * every quoted value a `?`.
 */

/** A quoted SQL literal (backslash escapes and doubled quotes inside), as mysql2 writes values in. */
const SQL_LITERAL = /'(?:[^'\\]|\\.|'')*'/g

/** `text` with every quoted value a `?`. */
export function withoutValues(text: string): string {
  return text.replace(SQL_LITERAL, '?')
}

/** `/v1/queue/tokens/<token>…` → `/v1/queue/tokens/<redacted>…` for logs. */
export function redactTokens(url: string): string {
  return url.replace(/(\/v1\/queue\/tokens\/)[^/?#]+/, '$1<redacted>')
}

/** Paths pino masks wherever they are logged: headers, and errors logged under other keys than `err`. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  '*.command.args',
  '*.sql',
]

/** What a masked path becomes: a statement its shape (every quoted value a ?), anything else a mark. */
export function censorLogged(value: unknown, path: string[]): unknown {
  return path.at(-1) === 'sql' && typeof value === 'string' ? withoutValues(value) : '<redacted>'
}

/** A Redis command as logged: its name only. */
function commandName(command: unknown): unknown {
  return typeof command === 'object' && command !== null && 'name' in command
    ? { name: (command as { name: unknown }).name, args: '<redacted>' }
    : command
}

/** A nested error (ioredis' previousErrors), as logged: its message and command name. */
function nestedError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error
  const { message, command } = error as { message?: unknown; command?: unknown }
  return {
    message: typeof message === 'string' ? withoutValues(message) : message,
    ...(command === undefined ? {} : { command: commandName(command) }),
  }
}

/**
 * A MySQL message's quoted value runs to the words after it: MySQL does not escape a quote
 * inside the value it quotes ("Duplicate entry 'a'b' for key 'PRIMARY'").
 */
const MYSQL_QUOTED_VALUE = /'.*'(?= for (?:key|column)\b)/g

/** A MySQL message (or a stack that begins with one) without the values it quotes. */
function mysqlMessageWithoutValues(text: string): string {
  return withoutValues(text.replace(MYSQL_QUOTED_VALUE, '?'))
}

/** Whether the error, or one it was caused by, came from MySQL's server (it carries `sqlMessage`). */
function fromMysql(error: unknown): boolean {
  let at: unknown = error
  for (let depth = 0; depth < 5 && typeof at === 'object' && at !== null; depth += 1) {
    if (typeof (at as { sqlMessage?: unknown }).sqlMessage === 'string') return true
    at = (at as { cause?: unknown }).cause
  }
  return false
}

/**
 * The `err` serializer: pino's own, then every value the error was given taken out (see
 * above). Works on a copy; the error itself is left as it was. Anything logged as `err`
 * that is not an object (a string a promise was rejected with) is logged as it is.
 */
export function serializeError(error: Error): SerializedError {
  const serialized: unknown = standardError(error)
  if (typeof serialized !== 'object' || serialized === null) return serialized as SerializedError
  const logged = { ...(serialized as SerializedError) }
  if ('command' in logged) logged.command = commandName(logged.command)
  if (typeof logged.sql === 'string') logged.sql = withoutValues(logged.sql)
  if (fromMysql(error)) {
    // Its message and stack (pino's fold in a cause's) quote what the server was given.
    for (const field of ['message', 'sqlMessage', 'stack'] as const)
      if (typeof logged[field] === 'string') logged[field] = mysqlMessageWithoutValues(logged[field])
  }
  for (const field of ['previousErrors', 'aggregateErrors'] as const) {
    const nested = logged[field]
    if (Array.isArray(nested)) logged[field] = nested.map(nestedError)
  }
  return logged
}
