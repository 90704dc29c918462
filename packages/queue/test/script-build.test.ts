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

describe('the scripts as Redis runs them (scripts.ts buildScript)', () => {
  it('every shipped script compiles in Redis', async () => {
    const scripts = loadScripts()
    expect(scripts.length).toBeGreaterThan(20)
    for (const script of scripts) {
      // SCRIPT LOAD compiles without running it: a block cut short (a syntax error) fails here.
      await expect(env.redis.script('LOAD', script.lua)).resolves.toMatch(/^[0-9a-f]{40}$/)
    }
  })

  it('refuses a misspelt constant, another use of a constant table, and a function it cannot cut out whole', () => {
    expect(() => buildScript('if t.status == S.REDY then return 1 end return 0', 'misspelt-0')).toThrow(
      'misspelt-0.lua: S.REDY is not defined',
    )
    expect(() => buildScript('return { R.NOPE }', 'unknown-0')).toThrow(
      'unknown-0.lua: R.NOPE is not defined',
    )
    // An inherited name is not a constant either.
    expect(() => buildScript('return F.constructor', 'inherited-0')).toThrow('F.constructor is not defined')
    // R, S, X and SALE are no tables at run time: only R.NAME and the like can be used.
    expect(() => buildScript("return S['READY']", 'indexed-0')).toThrow(
      'indexed-0.lua: S is used other than as S.NAME',
    )
    expect(() => buildScript('for k in pairs(R) do end', 'pairs-0')).toThrow('R is used other than as R.NAME')
    // A one-line function, or an `end` with more on its line, would swallow the function after it.
    const oneLine =
      'local function id(x) return x end\nlocal function used()\n  return 1\nend\nreturn used()\n'
    expect(() => buildScript(oneLine, 'one-line-0')).toThrow(
      "function id must end with a line 'end' of its own",
    )
    const endComment =
      'local function a()\n  return 1\nend -- a\nlocal function b()\n  return 2\nend\nreturn b()\n'
    expect(() => buildScript(endComment, 'end-comment-0')).toThrow(
      "function a must end with a line 'end' of its own",
    )
  })

  it('reads strings and comments as such: a use beside a `--` in a string counts, a name in a comment does not', async () => {
    const beside = buildScript(
      "local function f()\n  return 'x'\nend\nlocal function g()\n  return 'y'\nend\n-- g() is not called\nreturn '--' .. f() .. 'S.READY'\n",
      'strings-0',
    )
    expect(beside).toContain('local function f(')
    expect(beside).not.toContain('local function g(')
    await expect(env.redis.eval(beside, 0)).resolves.toBe('--xS.READY')
  })

  it('keeps the error of a field named by a variable that F lacks', async () => {
    const fields = buildScript('--- @include "token"\nreturn tokenFields(KEYS[1], ARGV[1])', 'fields-1')
    const tokenKey = `${env.keyPrefix}{q:1}:t:fields`
    await env.redis.hset(tokenKey, 'cu', '123')
    await expect(env.redis.eval(fields, 1, tokenKey, 'claimUntil')).resolves.toEqual(['123'])
    await expect(env.redis.eval(fields, 1, tokenKey, 'claimUntill')).rejects.toThrow(
      'F.claimUntill is not defined',
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
