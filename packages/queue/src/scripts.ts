import { readdirSync, readFileSync } from 'node:fs'
import type { Result } from 'ioredis'
import type { RedisClient } from './redis-client.js'

/**
 * Lua scripts live in ./lua as `<name>-<numKeys>.lua` (the BullMQ layout).
 * A line `--- @include "helper"` is replaced by ./lua/includes/helper.lua, each
 * helper once per script, so shared logic is written once and included.
 */
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
  return readdirSync(LUA_DIR)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => {
      const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file)
      if (!match?.[1] || !match[2]) throw new Error(`lua script ${file} is not named <name>-<numKeys>.lua`)
      return {
        file: file.replace(/\.lua$/, ''),
        command: commandName(match[1]),
        numberOfKeys: Number(match[2]),
        lua: expandIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8'), new Set()),
      }
    })
}

const defined = new WeakSet<RedisClient>()
let cache: ScriptDefinition[] | undefined

/** Registers every script on a client once; ioredis then runs them by EVALSHA. */
export function defineQueueCommands(redis: RedisClient): void {
  if (defined.has(redis)) return
  cache ??= loadScripts()
  for (const script of cache) {
    redis.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys })
  }
  defined.add(redis)
}

type Arg = string | number
type Reply = Array<string | number>

/** The keys of the scripts that expire one token (leave, complete): see includes/expire.lua. */
export type ExpiryKeys = [
  marker: string,
  tokenKey: string,
  waiting: string,
  heartbeat: string,
  active: string,
  accounts: string,
  stream: string,
]

declare module 'ioredis' {
  interface RedisCommander<Context> {
    queueJoin(
      marker: string,
      seq: string,
      waiting: string,
      heartbeat: string,
      accounts: string,
      stream: string,
      admitted: string,
      bucket: string,
      tokenKeyBase: string,
      token: string,
      accountId: string,
      eventId: Arg,
    ): Result<Reply, Context>
    queuePoll(
      marker: string,
      tokenKey: string,
      waiting: string,
      heartbeat: string,
      admitted: string,
      bucket: string,
      token: string,
      touch: '0' | '1',
    ): Result<Reply, Context>
    queueAdmit(
      marker: string,
      waiting: string,
      heartbeat: string,
      active: string,
      accounts: string,
      bucket: string,
      admitted: string,
      stream: string,
      tokenKeyBase: string,
      maxActive: Arg,
      admitPerSecond: Arg,
      activeTtlMs: Arg,
      waitingIdleMs: Arg,
      retentionSeconds: Arg,
      batch: Arg,
    ): Result<number[], Context>
    queueLeave(...args: [...ExpiryKeys, token: string, retentionSeconds: Arg]): Result<string, Context>
    queueVerify(marker: string, tokenKey: string): Result<Reply, Context>
    queueClaim(
      marker: string,
      tokenKey: string,
      active: string,
      token: string,
      owner: string,
      claimTtlMs: Arg,
    ): Result<Reply, Context>
    queueReleaseClaim(tokenKey: string, owner: string): Result<number, Context>
    queueComplete(
      ...args: [...ExpiryKeys, token: string, owner: string, completedAt: Arg, retentionSeconds: Arg]
    ): Result<string, Context>
    queueUnlock(lockKey: string, owner: string): Result<number, Context>
    queueRestore(
      marker: string,
      seq: string,
      waiting: string,
      heartbeat: string,
      active: string,
      accounts: string,
      tokenKeyBase: string,
      maxPlace: Arg,
      retentionSeconds: Arg,
      last: '0' | '1',
      ...tokens: string[]
    ): Result<number, Context>
  }
}
