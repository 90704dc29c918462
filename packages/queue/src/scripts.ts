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
 * once per script, so shared logic is written once and included. Every script
 * starts with the tables of preamble() below, each generated from its one
 * TypeScript definition, so no script spells a reply code, a stored field name,
 * a token status, an expiry reason or a sale state of its own.
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

/**
 * `local NAME = { KEY = 'value', … }`. Reading a key the table lacks (a misspelt
 * `S.REDY`) fails the script instead of quietly giving nil.
 */
function luaTable(name: string, entries: Readonly<Record<string, string>>): string {
  const body = Object.entries(entries).map(([key, value]) => `${key} = '${value}'`)
  return (
    `local ${name} = setmetatable({ ${body.join(', ')} }, ` +
    `{ __index = function(_, key) error('${name}.' .. tostring(key) .. ' is not defined') end })\n`
  )
}

function luaList(name: string, values: readonly string[]): string {
  return `local ${name} = { ${values.map((value) => `'${value}'`).join(', ')} }\n`
}

/** Words that stand for themselves: `{ READY: 'READY', … }`. */
const words = (list: readonly string[]) => Object.fromEntries(list.map((word) => [word, word]))

function preamble(): string {
  return (
    // Reply codes (replies.ts).
    luaTable('R', Reply) +
    // Logical token field -> stored name, and the field lists (token-state.ts).
    luaTable('F', F) +
    luaList('TOKEN_FIELDS', TOKEN_FIELDS) +
    luaList('WAITING_FIELDS', WAITING_FIELDS) +
    // Token statuses and expiry reasons (packages/db, QUEUE_TOKEN), sale states (sale-state.ts).
    luaTable('S', words(QUEUE_TOKEN_STATUSES)) +
    luaTable('X', words(QUEUE_EXPIRY_REASONS)) +
    luaTable('SALE', words(SALE_STATES))
  )
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
      lua: preamble() + expandIncludes(readFileSync(new URL(`${file}.lua`, LUA_DIR), 'utf8'), new Set()),
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
