import { createHmac } from 'node:crypto'
import { Writable } from 'node:stream'
import { AccountIdSchema, loadAuthConfig } from '@concert/shared'
import {
  generateAccountSigningKey,
  type JwksServer,
  signAccountToken,
  startJwksServer,
  useTestEnv,
} from '@concert/testing'
import { SignJWT } from 'jose'
import { Type } from 'typebox'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type App, accountIdInBody, accountIdInPath } from '../src/index.js'
import { buildTestApp } from './test-app.js'

const AccountIdParams = Type.Object({ accountId: AccountIdSchema })

/*
 * The account-JWT check (SPEC §11) on its own: a base app with three stand-in
 * routes (account in the path, in the body, and "whoever the token names"),
 * driven over app.inject. The apps' real routes are covered in
 * apps/booking-api/test/identity.test.ts.
 */

const env = useTestEnv()
const SECRET = 'a-test-secret-of-at-least-32-chars!'
const apps: App[] = []

/** A JWT signed with SECRET by hand, for headers and claims no signing library would write. */
function signedByHand(header: object, payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const signingInput = `${part(header)}.${part(payload)}`
  return `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`
}

async function build(authEnv: Record<string, string>, options: { logLines?: string[]; cors?: boolean } = {}) {
  const lines = options.logLines
  const app = await buildTestApp(env, {
    auth: loadAuthConfig(authEnv),
    corsOrigins: options.cors ? ['https://tickets.example'] : [],
    logger: lines
      ? {
          level: 'info',
          stream: new Writable({
            write(chunk, _encoding, done) {
              lines.push(String(chunk))
              done()
            },
          }),
        }
      : false,
  })
  apps.push(app)
  app.get(
    '/accounts/:accountId',
    { config: { account: accountIdInPath }, schema: { params: AccountIdParams } },
    async (request) => ({
      acting: request.params.accountId,
      authenticated: request.authenticatedAccountId ?? null,
    }),
  )
  app.post(
    '/join',
    {
      config: { account: accountIdInBody },
      schema: {
        body: Type.Object({ accountId: AccountIdSchema }),
        response: { 200: Type.Object({ ok: Type.Boolean() }), 404: Type.Ref('Problem') },
      },
    },
    async () => ({ ok: true }),
  )
  app.post('/create', { config: { account: 'from-token' }, schema: {} }, async (request) => ({
    id: request.authenticatedAccountId ?? 'generated',
  }))
  await app.ready()
  return app
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

const asAccount = (jwt: string) => ({ 'x-account-token': jwt })

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(response.statusCode).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(response.json()).toMatchObject({ status, code })
}

describe('HS256 secret', () => {
  const key = { secret: SECRET }

  it('lets the account’s own token through, from the header or the cookie', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET })
    const jwt = await signAccountToken('fan-a', key)
    const viaHeader = await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) })
    expect(viaHeader.statusCode).toBe(200)
    expect(viaHeader.json()).toEqual({ acting: 'fan-a', authenticated: 'fan-a' })
    const viaCookie = await app.inject({
      method: 'GET',
      url: '/accounts/fan-a',
      headers: { cookie: `theme=dark; account_token=${jwt}` },
    })
    expect(viaCookie.statusCode).toBe(200)
    const viaBody = await app.inject({
      method: 'POST',
      url: '/join',
      headers: asAccount(jwt),
      payload: { accountId: 'fan-a' },
    })
    expect(viaBody.json()).toEqual({ ok: true })
  })

  it('refuses a missing token 401, another account’s 403, and checks the body’s account too', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET })
    expectProblem(await app.inject({ method: 'GET', url: '/accounts/fan-a' }), 401, 'ACCOUNT_AUTH_REQUIRED')
    expectProblem(
      await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: { 'x-account-token': '  ' } }),
      401,
      'ACCOUNT_AUTH_REQUIRED',
    )
    const otherJwt = await signAccountToken('fan-b', key)
    expectProblem(
      await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(otherJwt) }),
      403,
      'ACCOUNT_FORBIDDEN',
    )
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/join',
        headers: asAccount(otherJwt),
        payload: { accountId: 'fan-a' },
      }),
      403,
      'ACCOUNT_FORBIDDEN',
    )
    // A body that fails validation is a 400 before any identity question.
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/join',
        headers: asAccount(otherJwt),
        payload: { accountId: 'a b' },
      }),
      400,
      'VALIDATION_FAILED',
    )
  })

  it('the header wins over the cookie', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET })
    const good = await signAccountToken('fan-a', key)
    const response = await app.inject({
      method: 'GET',
      url: '/accounts/fan-a',
      headers: { 'x-account-token': 'not.a.jwt', cookie: `account_token=${good}` },
    })
    expectProblem(response, 401, 'ACCOUNT_AUTH_INVALID')
  })

  it('refuses bad signatures, other algorithms, alg none, junk, and tokens without exp or with a sub that is no account id', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET })
    const own = await signAccountToken('fan-a', key)
    const [header, , signature] = own.split('.')
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'fan-a', exp: 9_999_999_999 })).toString(
      'base64url',
    )
    const now = Math.floor(Date.now() / 1000)
    const secretBytes = new TextEncoder().encode(SECRET)
    const invalid = [
      await signAccountToken('fan-a', { secret: 'another-secret-that-is-32-chars-long' }),
      `${header}.${forgedPayload}.${signature}`,
      // Right secret, algorithm not pinned.
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject('fan-a')
        .setExpirationTime(now + 60)
        .sign(secretBytes),
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${forgedPayload}.`,
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${forgedPayload}.x`,
      await signAccountToken('fan-a', key, { expiresIn: null }),
      'Bearer something',
      'a.b.c',
      `${'a'.repeat(9000)}.b.c`,
      // Signed right, but claims of the wrong type, or a critical header nobody here knows.
      signedByHand({ alg: 'HS256' }, { sub: 'fan-a', exp: String(now + 60) }),
      signedByHand({ alg: 'HS256' }, { sub: 'fan-a', exp: now + 60, nbf: 'now' }),
      signedByHand({ alg: 'HS256' }, { sub: 'fan-a', exp: now + 60, iat: 'now' }),
      signedByHand({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, { sub: 'fan-a', exp: now + 60 }),
    ]
    // The hand signing itself is right: the same token with sound claims passes.
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/accounts/fan-a',
          headers: asAccount(signedByHand({ alg: 'HS256', typ: 'JWT' }, { sub: 'fan-a', exp: now + 60 })),
        })
      ).statusCode,
    ).toBe(200)
    for (const jwt of invalid) {
      expectProblem(
        await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) }),
        401,
        'ACCOUNT_AUTH_INVALID',
      )
    }
    const pipeSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('auth0|123')
      .setExpirationTime(now + 60)
      .sign(secretBytes)
    const response = await app.inject({ method: 'POST', url: '/create', headers: asAccount(pipeSub) })
    expectProblem(response, 401, 'ACCOUNT_AUTH_INVALID')
    expect(response.json().detail).toMatch(/"sub" is not an account id/)
  })

  it('checks exp and nbf with the configured clock tolerance', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: '30' })
    const call = async (options: Parameters<typeof signAccountToken>[2]) =>
      app.inject({
        method: 'GET',
        url: '/accounts/fan-a',
        headers: asAccount(await signAccountToken('fan-a', key, options)),
      })
    const expired = await call({ expiresIn: -60 })
    expectProblem(expired, 401, 'ACCOUNT_AUTH_INVALID')
    expect(expired.json().detail).toMatch(/expired/)
    expect((await call({ expiresIn: -10 })).statusCode).toBe(200)
    expectProblem(await call({ notBefore: 60 }), 401, 'ACCOUNT_AUTH_INVALID')
    expect((await call({ notBefore: 10 })).statusCode).toBe(200)
  })

  it('a token accepted once (and remembered) is still refused once expired, tampered with, or for another account', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: '0' })
    const jwt = await signAccountToken('fan-a', key, { expiresIn: 60 })
    const call = (token: string, account = 'fan-a') =>
      app.inject({ method: 'GET', url: `/accounts/${account}`, headers: asAccount(token) })
    // The second call is answered from the verified-token cache.
    expect((await call(jwt)).statusCode).toBe(200)
    expect((await call(jwt)).statusCode).toBe(200)
    const [header, payload, signature = ''] = jwt.split('.')
    const flipped = signature[10] === 'A' ? 'B' : 'A'
    const otherPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'fan-b' }),
    ).toString('base64url')
    for (const tampered of [
      `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`,
      `${header}.${otherPayload}.${signature}`,
    ]) {
      expectProblem(await call(tampered), 401, 'ACCOUNT_AUTH_INVALID')
      expectProblem(await call(tampered, 'fan-b'), 401, 'ACCOUNT_AUTH_INVALID')
    }
    expectProblem(await call(jwt, 'fan-b'), 403, 'ACCOUNT_FORBIDDEN')
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      const expired = await call(jwt)
      expectProblem(expired, 401, 'ACCOUNT_AUTH_INVALID')
      expect(expired.json().detail).toMatch(/expired/)
    } finally {
      vi.useRealTimers()
    }
    expect((await call(jwt)).statusCode).toBe(200)
  })

  it('checks iss and aud when configured', async () => {
    const app = await build({
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: 'https://id.example/',
      AUTH_AUDIENCE: 'tickets',
    })
    const call = async (options: Parameters<typeof signAccountToken>[2]) =>
      app.inject({
        method: 'GET',
        url: '/accounts/fan-a',
        headers: asAccount(await signAccountToken('fan-a', key, options)),
      })
    expect((await call({ issuer: 'https://id.example/', audience: 'tickets' })).statusCode).toBe(200)
    for (const options of [
      { audience: 'tickets' },
      { issuer: 'https://evil.example/', audience: 'tickets' },
      { issuer: 'https://id.example/' },
      { issuer: 'https://id.example/', audience: 'another-app' },
      // Matched as text, not as a pattern: '.' is no wildcard.
      { issuer: 'https://idXexample/', audience: 'tickets' },
      { issuer: 'https://id.example/', audience: 'ticketsX' },
    ]) {
      const response = await call(options)
      expectProblem(response, 401, 'ACCOUNT_AUTH_INVALID')
      expect(response.json().detail).toMatch(/"(iss|aud)" claim/)
    }
  })

  it('a from-token route learns the account from the token, and still needs one', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET })
    const response = await app.inject({
      method: 'POST',
      url: '/create',
      headers: asAccount(await signAccountToken('new-fan', key)),
    })
    expect(response.json()).toEqual({ id: 'new-fan' })
    expectProblem(await app.inject({ method: 'POST', url: '/create' }), 401, 'ACCOUNT_AUTH_REQUIRED')
  })

  it('documents the account token on the routes that need it, and lets browsers send it', async () => {
    const app = await build({ AUTH_JWT_SECRET: SECRET }, { cors: true })
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(document.components.securitySchemes.accountToken).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Account-Token',
    })
    expect(document.components.securitySchemes.accountCookie).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'account_token',
    })
    const join = document.paths['/join'].post
    expect(join.security).toEqual([{ accountToken: [] }, { accountCookie: [] }])
    expect(Object.keys(join.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']))
    // Public routes say so: no requirement at all.
    expect(document.paths['/health/live'].get.security).toEqual([])
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/join',
      headers: {
        origin: 'https://tickets.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-account-token',
      },
    })
    expect(preflight.statusCode).toBe(204)
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/X-Account-Token/)
  })
})

describe('JWKS', () => {
  let jwks: JwksServer
  let rsa: Awaited<ReturnType<typeof generateAccountSigningKey>>
  let ec: Awaited<ReturnType<typeof generateAccountSigningKey>>

  beforeAll(async () => {
    rsa = await generateAccountSigningKey('RS256', 'rsa-1')
    ec = await generateAccountSigningKey('ES256', 'ec-1')
    jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk])
  })
  afterAll(async () => {
    await jwks?.close()
  })

  it('accepts RS256 and ES256 tokens from the published keys and caches the key set', async () => {
    const app = await build({ AUTH_JWKS_URL: jwks.url })
    const before = jwks.fetches
    for (const key of [rsa, ec, rsa, ec]) {
      const jwt = await signAccountToken('fan-a', key.signingKey)
      expect(
        (await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) })).statusCode,
      ).toBe(200)
    }
    expect(jwks.fetches - before).toBe(1)
  })

  it('refuses unknown keys, a key not in the set, HS256 (algorithm confusion) and the HS secret mode’s tokens', async () => {
    const app = await build({ AUTH_JWKS_URL: jwks.url })
    const stranger = await generateAccountSigningKey('RS256', 'rsa-1')
    const now = Math.floor(Date.now() / 1000)
    const invalid = [
      // Same kid, another private key: the signature does not verify.
      await signAccountToken('fan-a', stranger.signingKey),
      await signAccountToken('fan-a', { ...stranger.signingKey, kid: 'nobody' }),
      // HMAC keyed with the published public key, the classic JWKS downgrade.
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .setSubject('fan-a')
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk))),
      await signAccountToken('fan-a', { secret: SECRET }),
    ]
    for (const jwt of invalid) {
      expectProblem(
        await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) }),
        401,
        'ACCOUNT_AUTH_INVALID',
      )
    }
  })

  it('answers 503 (never 401 or 500) while the key set cannot be fetched', async () => {
    const down = await startJwksServer([rsa.publicJwk])
    down.publish(null)
    const app = await build({ AUTH_JWKS_URL: down.url })
    const jwt = await signAccountToken('fan-a', rsa.signingKey)
    const unavailable = await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) })
    expectProblem(unavailable, 503, 'SERVICE_UNAVAILABLE')
    expect(unavailable.headers['retry-after']).toBe('5')
    await down.close()
    expectProblem(
      await app.inject({ method: 'GET', url: '/accounts/fan-a', headers: asAccount(jwt) }),
      503,
      'SERVICE_UNAVAILABLE',
    )
    // Missing tokens need no keys: still a plain 401.
    expectProblem(await app.inject({ method: 'GET', url: '/accounts/fan-a' }), 401, 'ACCOUNT_AUTH_REQUIRED')
  })
})

describe('without AUTH_JWKS_URL or AUTH_JWT_SECRET', () => {
  it('lets every request through as v1 did, documents no account token, and warns once', async () => {
    const lines: string[] = []
    const app = await build({}, { logLines: lines })
    const response = await app.inject({ method: 'GET', url: '/accounts/fan-a' })
    expect(response.json()).toEqual({ acting: 'fan-a', authenticated: null })
    expect((await app.inject({ method: 'POST', url: '/create' })).json()).toEqual({ id: 'generated' })
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(document.paths['/join'].post.security).toEqual([])
    expect(document.components.securitySchemes?.accountToken).toBeUndefined()
    const warnings = lines
      .map((line) => JSON.parse(line))
      .filter((entry) => /accounts are not authenticated/.test(entry.msg))
    expect(warnings).toHaveLength(1)
    expect(warnings[0].level).toBe(40)
  })

  it('with auth on there is no such warning, and the secret never reaches the log', async () => {
    const lines: string[] = []
    await build({ AUTH_JWT_SECRET: SECRET }, { logLines: lines })
    expect(lines.join('')).not.toMatch(/not authenticated/)
    expect(lines.join('')).toMatch(/account routes require an account JWT/)
    expect(lines.join('')).not.toContain(SECRET)
  })
})
