import { readFileSync } from 'node:fs'
import { QUEUE_EXPIRY_REASONS, QUEUE_TOKEN_STATUSES } from '@concert/db'
import type { Result } from 'ioredis'
import type { EventKeys } from './keys.js'
import type { RedisClient } from './redis-client.js'
import { Reply, type ScriptReply } from './replies.js'
import { SALE_STATES } from './sale-state.js'
import { F, TOKEN_FIELDS, WAITING_FIELDS } from './token-state.js'

/**
 * Lua scripts live in ./lua as `<name>-<numKeys>.lua` (the BullMQ layout) and
 * are listed here, so what ships is exactly this list. A line
 * `--- @include "helper"` is replaced by ./lua/includes/helper.lua, each helper
 * once per script, so shared logic is written once and included. Scripts name
 * reply codes, stored field names, token statuses, expiry reasons and sale states
 * through the tables of CONSTANTS below (`R.CREATED`, `F.status`), each generated
 * from its one TypeScript definition, so no script spells one of its own; buildScript
 * puts the values in before the script reaches Redis.
 */
const SCRIPT_FILES = [
  'abort-purchase-1',
  'admit-11',
  'begin-purchase-4',
  'draw-3',
  'extend-lock-1',
  'extend-purchase-1',
  'feed-8',
  'finish-purchase-9',
  'holes-2',
  'join-9',
  'leave-8',
  'mark-durable-1',
  'poll-7',
  'publish-sale-1',
  'rate-limit-1',
  'release-seats-1',
  'restore-7',
  'sse-dead-copies-1',
  'sse-put-back-1',
  'sse-renew-copy-1',
  'sse-take-place-1',
  'status-5',
  'unlock-1',
  'verify-5',
] as const

const LUA_DIR = new URL('./lua/', import.meta.url)
const INCLUDE = /^--- @include "([a-z-]+)"\s*$/gm

function expandIncludes(source: string, seen: Set<string>): string {
  return source.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return ''
    seen.add(name)
    const included = readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8')
    return expandIncludes(included, seen)
  })
}

/** The constant tables a script may name (`R.CREATED`, `F.status`, …), each from its one TypeScript definition. */
const CONSTANTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // Reply codes (replies.ts).
  R: Reply,
  // Logical token field -> stored name (token-state.ts).
  F,
  // Token statuses and expiry reasons (packages/db, QUEUE_TOKEN), sale states (sale-state.ts).
  S: words(QUEUE_TOKEN_STATUSES),
  X: words(QUEUE_EXPIRY_REASONS),
  SALE: words(SALE_STATES),
}

/** Words that stand for themselves: `{ READY: 'READY', … }`. */
function words(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((word) => [word, word]))
}

/**
 * Tables a script may still need at run time, emitted only into the scripts that use them:
 * F for a field named by a variable (`F[TOKEN_FIELDS[i]]`, erroring on a name it lacks as
 * before), the field lists, and F inverted (stored name -> logical name) for reading a
 * token's hash.
 */
function runtimeTables(): Record<string, string> {
  const table = (entries: Readonly<Record<string, string>>) =>
    `{ ${Object.entries(entries)
      .map(([key, value]) => `['${key}'] = '${value}'`)
      .join(', ')} }`
  const list = (values: readonly string[]) => `{ ${values.map((value) => `'${value}'`).join(', ')} }`
  return {
    F:
      `setmetatable(${table(F)}, ` +
      `{ __index = function(_, key) error('F.' .. tostring(key) .. ' is not defined') end })`,
    TOKEN_FIELDS: list(TOKEN_FIELDS),
    WAITING_FIELDS: list(WAITING_FIELDS),
    BY_STORED: table(Object.fromEntries(Object.entries(F).map(([name, stored]) => [stored, name]))),
  }
}

interface Piece {
  kind: 'code' | 'string' | 'comment'
  text: string
}

/** Where a long bracket (`[[`, `[==[`) opened at `at` closes (past it), or -1 when `at` opens none. */
function longBracketEnd(source: string, at: number): number {
  const open = /^\[(=*)\[/.exec(source.slice(at, at + 64))
  if (!open) return -1
  const close = source.indexOf(`]${open[1]}]`, at + open[0].length)
  return close < 0 ? source.length : close + (open[1] as string).length + 2
}

/** A script cut into code, strings and comments (Lua's rules: quotes with escapes, long brackets, `--`). */
function pieces(source: string): Piece[] {
  const out: Piece[] = []
  let codeFrom = 0
  let at = 0
  const push = (kind: Piece['kind'], from: number, to: number) => {
    if (codeFrom < from) out.push({ kind: 'code', text: source.slice(codeFrom, from) })
    out.push({ kind, text: source.slice(from, to) })
    codeFrom = to
    at = to
  }
  while (at < source.length) {
    const char = source[at]
    if (char === '-' && source[at + 1] === '-') {
      const long = longBracketEnd(source, at + 2)
      const lineEnd = source.indexOf('\n', at)
      push('comment', at, long >= 0 ? long : lineEnd < 0 ? source.length : lineEnd)
    } else if (char === "'" || char === '"') {
      let end = at + 1
      while (end < source.length && source[end] !== char) end += source[end] === '\\' ? 2 : 1
      push('string', at, Math.min(end + 1, source.length))
    } else if (char === '[' && longBracketEnd(source, at) >= 0) {
      push('string', at, longBracketEnd(source, at))
    } else {
      at += 1
    }
  }
  if (codeFrom < source.length) out.push({ kind: 'code', text: source.slice(codeFrom) })
  return out
}

/** A script's code alone, its strings and comments left out: what it runs and names. */
function code(source: string): string {
  return pieces(source)
    .map((piece) => (piece.kind === 'code' ? piece.text : ' '))
    .join('')
}

/** How often `name` occurs as an identifier in `codeText` (code(), strings and comments left out). */
const occurrences = (codeText: string, name: string) =>
  codeText.match(new RegExp(`(?<![\\w.])${name}\\b`, 'g'))?.length ?? 0

/**
 * `R.CREATED`, `S.READY`, `F.status`, … in the code become the string they stand for. A
 * name the table lacks (a misspelt `S.REDY`) fails here, when the scripts are built at
 * start-up and in every test, instead of in Redis; so does any other use of R, S, X or
 * SALE (`S[name]`, `pairs(R)`), which are no longer tables at run time.
 */
function inlineConstants(source: string, file: string): string {
  const inlined = pieces(source)
    .map((piece) =>
      piece.kind !== 'code'
        ? piece.text
        : piece.text.replace(
            /(?<![\w.])(R|F|S|X|SALE)\.([A-Za-z_]\w*)/g,
            (_match, table: string, key: string) => {
              const values = CONSTANTS[table] as Record<string, string>
              if (!Object.hasOwn(values, key)) throw new Error(`${file}.lua: ${table}.${key} is not defined`)
              return `'${values[key]}'`
            },
          ),
    )
    .join('')
  const left = /(?<![\w.])(R|S|X|SALE)\b/.exec(code(inlined))
  if (left) throw new Error(`${file}.lua: ${left[1]} is used other than as ${left[1]}.NAME`)
  return inlined
}

/** Top-level `local function NAME(…)` … `end` blocks (the includes' layout: the body indented, `end` alone). */
const FUNCTION_BLOCK = /^local function (\w+)\([^\n]*\n(?:(?!end\n)[^\n]*\n)*?end\n/gm

/**
 * Drops the included functions a script never calls, until none is left: each would
 * otherwise be made again (a closure) on every call of the script. A block must hold one
 * function: a line at column 0 inside it (a one-line function before it, an `end` with
 * more on its line) would make it swallow the next, so the build refuses it.
 */
function dropUnused(source: string, file: string): string {
  for (;;) {
    const whole = code(source)
    let dropped = false
    const next = source.replace(FUNCTION_BLOCK, (block: string, name: string) => {
      const inner = block.split('\n').slice(1, -2)
      const stray = inner.find((line) => /^[^\s-]/.test(line))
      if (stray !== undefined)
        throw new Error(
          `${file}.lua: function ${name} must end with a line 'end' of its own before: ${stray}`,
        )
      // Used when it occurs anywhere but in its own definition (a recursive call is not a use).
      if (occurrences(whole, name) > occurrences(code(block), name)) return block
      dropped = true
      return ''
    })
    if (!dropped) return next
    source = next
  }
}

/**
 * A script as Redis runs it: the includes expanded, the constants inlined, the unused
 * functions dropped, and the run-time tables it uses declared first. Redis runs the
 * whole text on every call (a script cannot keep state between calls), so what it
 * holds costs each call: the constant tables and every included function made anew
 * were ~8 µs of Redis per call, more than the join script's own writes.
 */
export function buildScript(source: string, file: string): string {
  const body = dropUnused(inlineConstants(expandIncludes(source, new Set()), file), file)
  const tables = runtimeTables()
  const bodyCode = code(body)
  const header = Object.keys(tables)
    .filter((name) => occurrences(bodyCode, name) > 0)
    .map((name) => `local ${name} = ${tables[name]}\n`)
    .join('')
  return header + body
}

export interface ScriptDefinition {
  /** File name without extension, e.g. 'join-8'. */
  file: string
  /** ioredis command name, e.g. 'queueJoin'. */
  command: string
  numberOfKeys: number
  lua: string
}

function commandName(name: string): string {
  return `queue${name.replace(/(^|-)([a-z])/g, (_m, _dash, letter: string) => letter.toUpperCase())}`
}

export function loadScripts(): ScriptDefinition[] {
  return SCRIPT_FILES.map((file) => {
    const match = /^([a-z-]+)-(\d+)$/.exec(file)
    if (!match?.[1] || !match[2]) throw new Error(`lua script ${file} is not named <name>-<numKeys>`)
    return {
      file,
      command: commandName(match[1]),
      numberOfKeys: Number(match[2]),
      lua: buildScript(readFileSync(new URL(`${file}.lua`, LUA_DIR), 'utf8'), file),
    }
  })
}

const defined = new WeakSet<RedisClient>()
let cache: ScriptDefinition[] | undefined

/** Registers every script on a client once; ioredis then runs them by EVALSHA. Package-internal. */
export function defineQueueCommands(redis: RedisClient): void {
  if (defined.has(redis)) return
  cache ??= loadScripts()
  for (const script of cache) {
    redis.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys })
  }
  defined.add(redis)
}

type Arg = string | number

/** The keys of the scripts that expire one token (leave-8, finish-purchase-9): see includes/expire.lua. */
export type ExpiryKeys = [
  marker: string,
  tokenKey: string,
  waiting: string,
  active: string,
  accounts: string,
  records: string,
  stream: string,
  feed: string,
]

/** The join script's keys and arguments, in its header's order (join-9.lua): for the queue and for tools that pipeline it. */
export function joinArgs(
  k: EventKeys,
  token: string,
  accountId: string,
  maxBacklog: number,
): [string, string, string, string, string, string, string, string, string, string, string, string, number] {
  return [
    k.marker,
    k.seq,
    k.waiting,
    k.records,
    k.accounts,
    k.stream,
    k.admitted,
    k.bucket,
    k.sale,
    k.tokenKeyBase,
    token,
    accountId,
    maxBacklog,
  ]
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    queueJoin(
      marker: string,
      seq: string,
      waiting: string,
      records: string,
      accounts: string,
      stream: string,
      admitted: string,
      bucket: string,
      sale: string,
      tokenKeyBase: string,
      token: string,
      accountId: string,
      maxBacklog: Arg,
    ): Result<ScriptReply, Context>
    queuePoll(
      marker: string,
      tokenKey: string,
      waiting: string,
      records: string,
      admitted: string,
      bucket: string,
      sale: string,
      token: string,
      touch: '0' | '1',
    ): Result<ScriptReply, Context>
    queueAdmit(
      marker: string,
      waiting: string,
      records: string,
      active: string,
      accounts: string,
      bucket: string,
      admitted: string,
      stream: string,
      sale: string,
      feed: string,
      streaming: string,
      tokenKeyBase: string,
      maxActive: Arg,
      admitPerSecond: Arg,
      activeTtlMs: Arg,
      waitingIdleMs: Arg,
      retentionSeconds: Arg,
      batch: Arg,
      maxBacklog: Arg,
    ): Result<ScriptReply, Context>
    queueLeave(...args: [...ExpiryKeys, token: string, retentionSeconds: Arg]): Result<ScriptReply, Context>
    queueFeed(
      marker: string,
      waiting: string,
      feed: string,
      admitted: string,
      bucket: string,
      sale: string,
      streaming: string,
      records: string,
      cursor: string,
      maxEntries: Arg,
      streamedCount: Arg,
      ...streamedThenPolledTokens: string[]
    ): Result<ScriptReply, Context>
    queueHoles(marker: string, waiting: string, from: Arg, to: Arg): Result<ScriptReply, Context>
    /** Adds `requests` to a client's counter; answers [count after, ms left in its window]. */
    queueRateLimit(counter: string, windowMs: Arg, requests: Arg): Result<[number, number], Context>
    queueMarkDurable(
      marker: string,
      epoch: Arg,
      tokenKeyBase: string,
      ...tokenVersionPairs: Arg[]
    ): Result<ScriptReply, Context>
    queueVerify(
      marker: string,
      tokenKeyBase: string,
      records: string,
      waiting: string,
      catalogVersions: string,
      fieldCount: Arg,
      ...catalogFieldsThenTokens: string[]
    ): Result<ScriptReply, Context>
    /** Attempts: token, owner, claim TTL, seat key base, lock TTL, seat count, seat ids; each in turn. */
    queueBeginPurchase(
      marker: string,
      tokenKeyBase: string,
      active: string,
      waiting: string,
      ...attempts: Arg[]
    ): Result<ScriptReply, Context>
    queueFinishPurchase(
      ...args: [
        ...ExpiryKeys,
        catalog: string,
        token: string,
        owner: string,
        completedAt: Arg,
        retentionSeconds: Arg,
        seatKeyBase: string,
        soldMarkerMs: Arg,
        catalogTtlMs: Arg,
        /** The version the payment's transaction wrote the token COMPLETED at ('' when it did not). */
        committedVersion: Arg,
        seatCount: Arg,
        ...seatIdsThenCatalogPairs: Arg[],
      ]
    ): Result<ScriptReply, Context>
    queueAbortPurchase(
      tokenKey: string,
      owner: string,
      seatKeyBase: string,
      ...seatIds: Arg[]
    ): Result<ScriptReply, Context>
    queueExtendPurchase(
      tokenKey: string,
      owner: string,
      claimTtlMs: Arg,
      seatKeyBase: string,
      seatLockTtlMs: Arg,
      ...seatIds: Arg[]
    ): Result<ScriptReply, Context>
    queueReleaseSeats(marker: string, seatKeyBase: string, ...seatIds: Arg[]): Result<ScriptReply, Context>
    queueUnlock(lockKey: string, owner: string): Result<ScriptReply, Context>
    queuePublishSale(sale: string, version: Arg, ...fieldValues: string[]): Result<ScriptReply, Context>
    queueStatus(
      marker: string,
      waiting: string,
      active: string,
      admitted: string,
      sale: string,
      records: string,
      maxActive: Arg,
      admitPerSecond: Arg,
      activeTtlMs: Arg,
      waitingIdleMs: Arg,
    ): Result<ScriptReply, Context>
    /**
     * One slice of the drawn order: `tokenPlaces` as one array (token, place, token,
     * place, ...), which ioredis flattens. Spread into the call, a pre-queue of 70,000
     * fans in one slice overflowed the stack.
     */
    queueDraw(
      marker: string,
      waiting: string,
      sale: string,
      records: string,
      accounts: string,
      last: '0' | '1',
      tokenPlaces: readonly string[],
    ): Result<ScriptReply, Context>
    queueExtendLock(lockKey: string, owner: string, ttlMs: Arg): Result<ScriptReply, Context>
    queueSseTakePlace(
      places: string,
      member: string,
      limit: Arg,
      setTtlMs: Arg,
      ...deadCopies: string[]
    ): Result<ScriptReply, Context>
    queueSseRenewCopy(registry: string, copyId: string, leaseMs: Arg): Result<ScriptReply, Context>
    queueSseDeadCopies(registry: string, ...copyIds: string[]): Result<ScriptReply, Context>
    queueSsePutBack(places: string, setTtlMs: Arg, ...members: string[]): Result<ScriptReply, Context>
    queueRestore(
      marker: string,
      seq: string,
      waiting: string,
      records: string,
      active: string,
      accounts: string,
      recoveryLock: string,
      tokenKeyBase: string,
      maxPlace: Arg,
      retentionSeconds: Arg,
      /** The new epoch on the last chunk ('' before): it becomes the marker's value. */
      markerValue: string,
      lockOwner: string,
      /** Per token: the token, then its TOKEN_FIELDS values. */
      ...tokenValues: string[]
    ): Result<ScriptReply, Context>
  }
}
