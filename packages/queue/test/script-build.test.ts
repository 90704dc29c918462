import { useTestEnv } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { buildScript, loadScripts } from '../src/scripts.js'

/*
 * Redis runs a script's whole text on every call, so scripts.ts builds each one lean:
 * the constants (R.CREATED, S.READY, F.status, …) become the strings they stand for,
 * the included functions a script never calls are left out, and only the run-time
 * tables it uses (F, the field lists, F inverted) are declared.
 */

const env = useTestEnv()

const dottedConstant = /(?<![\w.])(R|F|S|X|SALE)\.[A-Za-z_]/

describe('the scripts as Redis runs them (scripts.ts buildScript)', () => {
  it('every shipped script names no constant table and compiles in Redis', async () => {
    const scripts = loadScripts()
    expect(scripts.length).toBeGreaterThan(20)
    for (const script of scripts) {
      expect(dottedConstant.test(script.lua), script.file).toBe(false)
      // SCRIPT LOAD compiles without running it: a block cut short (a syntax error) fails here.
      await expect(env.redis.script('LOAD', script.lua)).resolves.toMatch(/^[0-9a-f]{40}$/)
    }
  })

  it('a constant its table lacks fails the build, naming it', () => {
    expect(() => buildScript('if t.status == S.REDY then return 1 end return 0', 'misspelt-0')).toThrow(
      'misspelt-0.lua: S.REDY is not defined',
    )
    expect(() => buildScript('return { R.NOPE }', 'unknown-0')).toThrow(
      'unknown-0.lua: R.NOPE is not defined',
    )
  })

  it('keeps the functions a script calls and what they call, drops the rest, and declares only the tables used', async () => {
    // toldLine (token.lua) uses TOKEN_FIELDS; readToken, readWaitingLine, statePairs … are not called.
    const told = buildScript(
      '--- @include "token"\nreturn toldLine(ARGV[1], { status = S.READY, place = 7 }, ARGV[2])',
      'told-0',
    )
    expect(told).toContain('local function toldLine(')
    expect(told).not.toContain('local function readToken(')
    expect(told).not.toContain('local function statePairs(')
    expect(told).toContain('local TOKEN_FIELDS = ')
    expect(told).not.toContain('local BY_STORED = ')
    expect(told).not.toContain('local WAITING_FIELDS = ')
    // It runs: the token, TOKEN_FIELDS (accountId, place, status, reason, issuedAt, readyAt,
    // expiresAt, version), the epoch, the unmirrored mark.
    await expect(env.redis.eval(told, 0, 'tok', '3')).resolves.toBe('tok||7|READY||||||3|')

    // A function called only by one that is dropped goes too: nothing here calls anything.
    const idle = buildScript('--- @include "ticket"\nreturn SALE.OPEN', 'idle-0')
    expect(idle).not.toContain('local function')
    expect(idle).not.toMatch(/^local F = /m)
    await expect(env.redis.eval(idle, 0)).resolves.toBe('OPEN')

    // readToken keeps what it calls (readWaiting → readWaitingLine → recordKey) and F inverted.
    const read = buildScript(
      '--- @include "token"\nlocal t = readToken({ records = KEYS[1] }, KEYS[2], ARGV[1])\nreturn t and t.status or false',
      'read-2',
    )
    for (const name of ['readToken', 'readWaiting', 'readWaitingLine', 'recordKey']) {
      expect(read).toContain(`local function ${name}(`)
    }
    expect(read).toContain('local BY_STORED = ')
    const tokenKey = `${env.keyPrefix}{q:1}:t:abc`
    await env.redis.hset(tokenKey, 's', 'READY', 'v', '2')
    await expect(env.redis.eval(read, 2, `${env.keyPrefix}{q:1}:w:`, tokenKey, 'abc')).resolves.toBe('READY')
    await expect(env.redis.eval(read, 2, `${env.keyPrefix}{q:1}:w:`, `${tokenKey}x`, 'abcx')).resolves.toBe(
      null,
    )
  })
})
