import { PassThrough } from 'node:stream'
import { useTestEnv } from '@concert/testing'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { type App, redactTokens } from '../src/index.js'
import { censorLogged, serializeError, withoutValues } from '../src/log-redaction.js'
import { buildTestApp } from './test-app.js'

/*
 * The logs hold no queue token, key or value a command was given (log-redaction.ts): each
 * case makes the real server fail a real command carrying a secret, lets the app's error
 * handler log it at the apps' level, and reads every line written.
 */

const env = useTestEnv()
const apps: App[] = []

/** An app logging JSON lines (info and up) into `lines`. */
async function logging(): Promise<{ app: App; lines: string[] }> {
  const lines: string[] = []
  const stream = new PassThrough()
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)))
  const app = await buildTestApp(env, { logger: { level: 'info', stream } })
  apps.push(app)
  return { app, lines }
}

type Logged = { err?: Record<string, unknown> & { message?: string; code?: string } }
const entries = (lines: string[]) => lines.map((line) => JSON.parse(line) as Logged)

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe('the logs', () => {
  it('name a queue token’s path without the token', () => {
    expect(redactTokens('/v1/queue/tokens/1.abcDEF123/stream?x=1')).toBe(
      '/v1/queue/tokens/<redacted>/stream?x=1',
    )
    expect(redactTokens('/v1/queue/tokens/1.abcDEF123')).toBe('/v1/queue/tokens/<redacted>')
    expect(redactTokens('/v1/queue/tokens')).toBe('/v1/queue/tokens')
  })

  it('keep a failed Redis command’s name, never its arguments (scripts are given queue tokens)', async () => {
    const { app, lines } = await logging()
    const key = `${env.keyPrefix}log-redaction`
    const token = '7.tokenThatMustNotBeLogged'
    await app.redis.set(key, 'a string')
    // A real ReplyError from Redis (WRONGTYPE), carrying its command as ioredis sets it.
    app.get('/fails-in-redis', async () => app.redis.hset(key, 'field', token))
    const response = await app.inject({ method: 'GET', url: '/fails-in-redis' })
    expect(response.statusCode).toBeGreaterThanOrEqual(500)
    expect(response.body).not.toContain(token)
    const failure = entries(lines).find((entry) => entry.err?.message?.startsWith('WRONGTYPE'))
    expect(failure?.err?.command).toEqual({ name: 'hset', args: '<redacted>' })
    expect(lines.join('\n')).not.toContain(token)
  })

  it('keep none of an aborted transaction’s commands’ arguments (ioredis previousErrors)', async () => {
    const { app, lines } = await logging()
    const token = '7.anotherTokenNotToLog'
    // HSET with one argument is refused as it is queued: EXEC answers EXECABORT.
    app.get('/aborted', async () => app.redis.multi().call('hset', token).exec())
    const response = await app.inject({ method: 'GET', url: '/aborted' })
    expect(response.statusCode).toBeGreaterThanOrEqual(500)
    const failure = entries(lines).find((entry) => entry.err?.message?.startsWith('EXECABORT'))
    expect(failure?.err?.previousErrors).toEqual([
      {
        message: expect.stringContaining('wrong number of arguments'),
        command: { name: 'hset', args: '<redacted>' },
      },
    ])
    expect(lines.join('\n')).not.toContain(token)
  })

  it('keep a failed statement’s shape but none of its values (mysql2 writes them into the statement)', async () => {
    const { app, lines } = await logging()
    const token = "7.it's-a-token"
    app.get('/fails-in-mysql', async () =>
      sql`SELECT 1 FROM NO_SUCH_TABLE WHERE token = ${token} AND id = ${'acct-1'}`.execute(app.db),
    )
    const response = await app.inject({ method: 'GET', url: '/fails-in-mysql' })
    expect(response.statusCode).toBeGreaterThanOrEqual(500)
    const failure = entries(lines).find((entry) => entry.err?.code === 'ER_NO_SUCH_TABLE')
    expect(failure?.err?.sql).toBe('SELECT 1 FROM NO_SUCH_TABLE WHERE token = ? AND id = ?')
    expect(lines.join('\n')).not.toMatch(/a-token|acct-1/)
  })

  it('keep none of the values MySQL quotes in its own message (a duplicate key)', async () => {
    const { app, lines } = await logging()
    await sql`CREATE TABLE LOG_REDACTION (k VARCHAR(64) PRIMARY KEY)`.execute(env.db)
    // MySQL quotes the value without escaping a quote inside it.
    const key = "idem-key-it's-not-to-log"
    await sql`INSERT INTO LOG_REDACTION (k) VALUES (${key})`.execute(env.db)
    app.get('/duplicate', async () => sql`INSERT INTO LOG_REDACTION (k) VALUES (${key})`.execute(app.db))
    const response = await app.inject({ method: 'GET', url: '/duplicate' })
    expect(response.statusCode).toBeGreaterThanOrEqual(400)
    const failure = entries(lines).find((entry) => entry.err?.code === 'ER_DUP_ENTRY')
    expect(failure?.err?.message).toMatch(/^Duplicate entry \? for key/)
    expect(failure?.err?.sqlMessage).toMatch(/^Duplicate entry \? for key/)
    expect(lines.join('\n')).not.toMatch(/idem-key|not-to-log/)
  })

  it('turn quoted values with escaped or doubled quotes into ?, and other masked fields into a mark', () => {
    expect(withoutValues("UPDATE t SET a = 'x\\'y', b = 'p''q', c = 3, e = 'a\\\\' WHERE d = ''")).toBe(
      'UPDATE t SET a = ?, b = ?, c = 3, e = ? WHERE d = ?',
    )
    expect(censorLogged("SELECT 'x'", ['error', 'sql'])).toBe('SELECT ?')
    expect(censorLogged(['sha', 'token'], ['err', 'command', 'args'])).toBe('<redacted>')
    expect(censorLogged('Bearer x', ['req', 'headers', 'authorization'])).toBe('<redacted>')
  })

  it('scrub a MySQL error wrapped as a cause, leave the error itself as it was, and log a non-error as it is', () => {
    const mysql = Object.assign(new Error("Duplicate entry 'secret-key' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
      sqlMessage: "Duplicate entry 'secret-key' for key 'PRIMARY'",
      sql: "INSERT INTO T (k) VALUES ('secret-key')",
    })
    const wrapped = new Error('could not record it', { cause: mysql })
    const logged = JSON.stringify(serializeError(wrapped))
    expect(logged).toContain('Duplicate entry ? for key ?')
    expect(logged).not.toContain('secret-key')
    expect(JSON.stringify(serializeError(mysql))).not.toContain('secret-key')
    expect(mysql.sqlMessage).toBe("Duplicate entry 'secret-key' for key 'PRIMARY'")
    expect(mysql.sql).toBe("INSERT INTO T (k) VALUES ('secret-key')")
    expect(serializeError('a rejection reason' as unknown as Error)).toBe('a rejection reason')
  })
})
