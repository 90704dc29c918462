import { Writable } from 'node:stream'
import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import {
  type AccountSigningKey,
  type AccountTokenOptions,
  appEnv,
  generateAccountSigningKey,
  insertAccounts,
  type JwksServer,
  seedCatalog,
  signAccountToken,
  startJwksServer,
  useTestEnv,
} from '@concert/testing'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBookingApp } from '../src/app.js'
import { loadBookingConfig } from '../src/config.js'
import { bearer, buildBooking, expectInvariants } from './helpers.js'

/*
 * SPEC §11 through both apps: with AUTH_JWT_SECRET or AUTH_JWKS_URL set, the
 * four fan routes that name an account, and account creation, need the
 * account's own JWT, and a refused request writes nothing.
 */

const env = useTestEnv()
let eventId: number

beforeAll(async () => {
  eventId = (await seedCatalog(env.db)).eventId
})

const SECRET = 'identity-test-secret-32-characters-long'

interface Issuer {
  /** The variables that turn account auth on for this issuer. */
  authEnv: Record<string, string>
  key: AccountSigningKey
  /** Signs with a key the apps do not trust, under the same header (kid, alg). */
  impostor: AccountSigningKey
  close(): Promise<void>
}

async function jwksIssuer(alg: 'RS256' | 'ES256'): Promise<Issuer> {
  const trusted = await generateAccountSigningKey(alg, `${alg}-key`)
  const impostor = await generateAccountSigningKey(alg, `${alg}-key`)
  const server: JwksServer = await startJwksServer([trusted.publicJwk])
  return {
    authEnv: { AUTH_JWKS_URL: server.url },
    key: trusted.signingKey,
    impostor: impostor.signingKey,
    close: () => server.close(),
  }
}

const issuers: Array<[string, string, () => Promise<Issuer>]> = [
  [
    'HS256 shared secret',
    'hs',
    async () => ({
      authEnv: { AUTH_JWT_SECRET: SECRET },
      key: { secret: SECRET },
      impostor: { secret: 'not-the-secret-but-also-32-characters' },
      close: async () => {},
    }),
  ],
  ['JWKS with an RS256 key', 'rs', () => jwksIssuer('RS256')],
  ['JWKS with an ES256 key', 'es', () => jwksIssuer('ES256')],
]

describe.each(issuers)('account auth on: %s', (_name, prefix, startIssuer) => {
  let issuer: Issuer
  let gateway: App
  let booking: App
  let accountA: string
  let accountB: string
  /** B's queue token, from B's own join. */
  let queueTokenB: string

  beforeAll(async () => {
    issuer = await startIssuer()
    gateway = await buildGatewayApp({
      config: loadGatewayConfig(appEnv(env, { ...issuer.authEnv, ISSUE_RATE_LIMIT_PER_MINUTE: '1000000' })),
      logger: false,
      workers: false,
    })
    booking = await buildBooking(env, issuer.authEnv)
    ;[accountA, accountB] = (await insertAccounts(env.db, 2, { prefix, balance: 50_000 })) as [string, string]
  })
  afterAll(async () => {
    await gateway?.close()
    await booking?.close()
    await issuer?.close()
  })

  const jwtOf = (accountId: string, options?: AccountTokenOptions) =>
    signAccountToken(accountId, issuer.key, options)

  /** Every way to be refused for account B, with the answer each must get. */
  async function refusals(): Promise<Array<[string, Record<string, string>, number, string]>> {
    const ofA = await jwtOf(accountA)
    const [header, , signature] = ofA.split('.')
    const claimsOfB = Buffer.from(
      JSON.stringify({ sub: accountB, exp: Math.floor(Date.now() / 1000) + 300 }),
    ).toString('base64url')
    return [
      ["A's JWT", { 'x-account-token': ofA }, 403, 'ACCOUNT_FORBIDDEN'],
      ["A's JWT as the cookie", { cookie: `account_token=${ofA}` }, 403, 'ACCOUNT_FORBIDDEN'],
      ['no JWT', {}, 401, 'ACCOUNT_AUTH_REQUIRED'],
      [
        "B's expired JWT",
        { 'x-account-token': await jwtOf(accountB, { expiresIn: -120 }) },
        401,
        'ACCOUNT_AUTH_INVALID',
      ],
      [
        "B's JWT signed by an untrusted key",
        { 'x-account-token': await signAccountToken(accountB, issuer.impostor) },
        401,
        'ACCOUNT_AUTH_INVALID',
      ],
      [
        "A's signature over B's claims",
        { 'x-account-token': `${header}.${claimsOfB}.${signature}` },
        401,
        'ACCOUNT_AUTH_INVALID',
      ],
    ]
  }

  async function expectRefused(
    send: (headers: Record<string, string>) => Promise<LightMyRequestResponse>,
  ): Promise<void> {
    for (const [what, headers, status, code] of await refusals()) {
      const response = await send(headers)
      expect(response.statusCode, what).toBe(status)
      expect(response.headers['content-type'], what).toMatch(/^application\/problem\+json/)
      expect(response.json().code, what).toBe(code)
    }
  }

  const join = (accountId: string, headers: Record<string, string>) =>
    gateway.inject({ method: 'POST', url: '/v1/queue/tokens', headers, payload: { accountId, eventId } })

  const amountOf = async (id: string) =>
    (await env.db.selectFrom('ACCOUNT').select('amount').where('id', '=', id).executeTakeFirstOrThrow())
      .amount
  const ledgerRows = async (id: string) =>
    (await env.db.selectFrom('BALANCE_HISTORY').select('id').where('account_id', '=', id).execute()).length

  it('join: only B’s own JWT joins B, and nothing else created a token', async () => {
    await expectRefused((headers) => join(accountB, headers))
    const own = await join(accountB, { 'x-account-token': await jwtOf(accountB) })
    // 201, not 200: none of the refused joins had created B's token.
    expect(own.statusCode).toBe(201)
    expect(own.json()).toMatchObject({ accountId: accountB, eventId, status: 'WAITING' })
    queueTokenB = own.json().token
    // A repeat join hands back B's live token, so a repeat with A's JWT must be refused too.
    await expectRefused(async (headers) => {
      const response = await join(accountB, headers)
      expect(response.body).not.toContain(queueTokenB)
      return response
    })
    const again = await join(accountB, { 'x-account-token': await jwtOf(accountB) })
    expect(again.statusCode).toBe(200)
    expect(again.json().token).toBe(queueTokenB)
  })

  it('balance: identity is checked before the queue token, and B reads B’s balance', async () => {
    await expectRefused((headers) =>
      booking.inject({
        method: 'GET',
        url: `/v1/accounts/${accountB}/balance`,
        headers: { ...headers, ...bearer(queueTokenB) },
      }),
    )
    const own = await booking.inject({
      method: 'GET',
      url: `/v1/accounts/${accountB}/balance`,
      headers: { 'x-account-token': await jwtOf(accountB), ...bearer(queueTokenB) },
    })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toEqual({ accountId: accountB, balance: 50_000 })
    // Identity comes first: without any queue token, A's JWT is still told it is the wrong account.
    const withoutQueueToken = await booking.inject({
      method: 'GET',
      url: `/v1/accounts/${accountB}/balance`,
      headers: { 'x-account-token': await jwtOf(accountA) },
    })
    expect(withoutQueueToken.json().code).toBe('ACCOUNT_FORBIDDEN')
    // B's JWT does not replace the queue token the route also needs.
    const noQueueToken = await booking.inject({
      method: 'GET',
      url: `/v1/accounts/${accountB}/balance`,
      headers: { 'x-account-token': await jwtOf(accountB) },
    })
    expect(noQueueToken.json().code).toBe('TOKEN_MISSING')
  })

  it('charge: refused charges move no money; B’s own charge does', async () => {
    const charge = (headers: Record<string, string>) =>
      booking.inject({
        method: 'POST',
        url: `/v1/accounts/${accountB}/balance/charge`,
        headers: { ...headers, 'idempotency-key': `${prefix}-top-up` },
        payload: { amount: 1_000 },
      })
    const [amountBefore, rowsBefore] = [await amountOf(accountB), await ledgerRows(accountB)]
    await expectRefused(charge)
    expect(await amountOf(accountB)).toBe(amountBefore)
    expect(await ledgerRows(accountB)).toBe(rowsBefore)
    // What a cross-site form could send with B's cookie: no JSON body, so refused and nothing moves.
    const cookie = `account_token=${await jwtOf(accountB)}`
    for (const [contentType, payload] of [
      ['text/plain', '{"amount":1000}'],
      ['application/x-www-form-urlencoded', 'amount=1000'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1000\r\n--x--',
      ],
    ]) {
      const forged = await booking.inject({
        method: 'POST',
        url: `/v1/accounts/${accountB}/balance/charge`,
        headers: { cookie, 'content-type': contentType },
        payload,
      })
      expect([400, 415], contentType).toContain(forged.statusCode)
    }
    expect(await amountOf(accountB)).toBe(amountBefore)
    const own = await charge({ 'x-account-token': await jwtOf(accountB) })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toEqual({ accountId: accountB, balance: amountBefore + 1_000, charged: 1_000 })
    expect(await ledgerRows(accountB)).toBe(rowsBefore + 1)
    await expectInvariants(env)
  })

  it('reservations: only B lists B’s reservations', async () => {
    await expectRefused((headers) =>
      booking.inject({
        method: 'GET',
        url: `/v1/accounts/${accountB}/reservations`,
        headers: { ...headers, ...bearer(queueTokenB) },
      }),
    )
    const own = await booking.inject({
      method: 'GET',
      url: `/v1/accounts/${accountB}/reservations`,
      headers: { 'x-account-token': await jwtOf(accountB), ...bearer(queueTokenB) },
    })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toEqual([])
  })

  it('create: the id is the JWT’s sub; a second time 409 ACCOUNT_EXISTS; no JWT 401 and no row', async () => {
    const newId = `${prefix}-new-fan`
    const create = (headers: Record<string, string>, email: string) =>
      booking.inject({ method: 'POST', url: '/v1/accounts', headers, payload: { email, name: 'New Fan' } })
    const count = async () =>
      Number(
        (
          await env.db
            .selectFrom('ACCOUNT')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )

    const rowsBefore = await count()
    const missing = await create({}, `${prefix}-nojwt@example.test`)
    expect(missing.statusCode).toBe(401)
    expect(missing.json().code).toBe('ACCOUNT_AUTH_REQUIRED')
    const expired = await create(
      { 'x-account-token': await jwtOf(newId, { expiresIn: -120 }) },
      `${prefix}-old@example.test`,
    )
    expect(expired.json().code).toBe('ACCOUNT_AUTH_INVALID')
    expect(await count()).toBe(rowsBefore)

    const jwt = await jwtOf(newId)
    const created = await create({ 'x-account-token': jwt }, `${prefix}-new@example.test`)
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({ id: newId, email: `${prefix}-new@example.test`, balance: 0 })
    expect(created.headers.location).toBe(`/v1/accounts/${newId}`)

    const again = await create({ 'x-account-token': jwt }, `${prefix}-other@example.test`)
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'ACCOUNT_EXISTS', accountId: newId })
    // Another identity with a taken email is still told about the email.
    const emailTaken = await create(
      { 'x-account-token': await jwtOf(`${prefix}-second`) },
      `${prefix}-new@example.test`,
    )
    expect(emailTaken.json().code).toBe('EMAIL_TAKEN')
    expect(await count()).toBe(rowsBefore + 1)

    // The new account is usable at once: it joins the queue with the same JWT.
    expect((await join(newId, { 'x-account-token': jwt })).statusCode).toBe(201)
  })

  it('30 parallel creates with one sub: exactly one 201, 29 × 409 ACCOUNT_EXISTS, one row', async () => {
    const id = `${prefix}-race`
    const jwt = await jwtOf(id)
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        booking.inject({
          method: 'POST',
          url: '/v1/accounts',
          headers: { 'x-account-token': jwt },
          payload: { email: `${prefix}-race-${i}@example.test`, name: 'Racer' },
        }),
      ),
    )
    const statuses = responses.map((r) => r.statusCode).sort()
    expect(statuses).toEqual([201, ...Array.from({ length: 29 }, () => 409)])
    expect(new Set(responses.filter((r) => r.statusCode === 409).map((r) => r.json().code))).toEqual(
      new Set(['ACCOUNT_EXISTS']),
    )
    const rows = await env.db.selectFrom('ACCOUNT').select('id').where('id', '=', id).execute()
    expect(rows).toHaveLength(1)
  })

  it('OpenAPI lists the account token on exactly the routes that check it', async () => {
    const needing = (document: { paths: Record<string, Record<string, { security?: object[] }>> }) =>
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => JSON.stringify(operation.security ?? []).includes('accountToken'))
          .map(([method]) => `${method.toUpperCase()} ${path}`),
      )
    const gatewayDocs = (await gateway.inject({ method: 'GET', url: '/docs/json' })).json()
    const bookingDocs = (await booking.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(needing(gatewayDocs)).toEqual(['POST /v1/queue/tokens'])
    expect(needing(bookingDocs).sort()).toEqual([
      'GET /v1/accounts/{accountId}/balance',
      'GET /v1/accounts/{accountId}/reservations',
      'POST /v1/accounts',
      'POST /v1/accounts/{accountId}/balance/charge',
    ])
    // Alongside the queue token where the route also needs one.
    expect(bookingDocs.paths['/v1/accounts/{accountId}/balance'].get.security).toEqual([
      { queueToken: [], accountToken: [] },
      { queueToken: [], accountCookie: [] },
    ])
    expect(Object.keys(gatewayDocs.paths['/v1/queue/tokens'].post.responses)).toEqual(
      expect.arrayContaining(['401', '403']),
    )
  })

  it('no account-token value of any shape gets a 5xx', async () => {
    const values = [
      'x',
      '.',
      '..',
      'a.b.c',
      `${'a'.repeat(5000)}.b.c`,
      '€.€.€',
      'null',
      'Bearer a.b.c',
      '%00',
      '{}',
    ]
    for (const value of values) {
      for (const response of [
        await join(accountB, { 'x-account-token': value }),
        await booking.inject({
          method: 'GET',
          url: `/v1/accounts/${accountB}/balance`,
          headers: { cookie: `account_token=${encodeURIComponent(value)}` },
        }),
      ]) {
        expect(response.statusCode, value).toBe(401)
        expect(response.json().code, value).toBe('ACCOUNT_AUTH_INVALID')
      }
    }
  })
})

describe('account auth off (no AUTH_JWKS_URL, no AUTH_JWT_SECRET)', () => {
  function capture(): { lines: string[]; logger: { level: string; stream: Writable } } {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    return { lines, logger: { level: 'info', stream } }
  }
  const warnings = (lines: string[]) =>
    lines.map((line) => JSON.parse(line)).filter((entry) => /accounts are not authenticated/.test(entry.msg))

  it('each app logs exactly one warning at start that accounts are not authenticated', async () => {
    const gatewayLog = capture()
    const bookingLog = capture()
    const gateway = await buildGatewayApp({
      config: loadGatewayConfig(appEnv(env)),
      logger: gatewayLog.logger,
      workers: false,
    })
    const booking = await buildBookingApp({
      config: loadBookingConfig(appEnv(env)),
      logger: bookingLog.logger,
    })
    try {
      await Promise.all([gateway.ready(), booking.ready()])
      for (const lines of [gatewayLog.lines, bookingLog.lines]) {
        const found = warnings(lines)
        expect(found).toHaveLength(1)
        expect(found[0].level).toBe(40)
      }
      // Requests do not repeat it.
      const [id] = (await insertAccounts(env.db, 1, { prefix: 'open' })) as [string]
      const joined = await gateway.inject({
        method: 'POST',
        url: '/v1/queue/tokens',
        payload: { accountId: id, eventId },
      })
      expect(joined.statusCode).toBe(201)
      const charged = await booking.inject({
        method: 'POST',
        url: `/v1/accounts/${id}/balance/charge`,
        payload: { amount: 5 },
      })
      expect(charged.statusCode).toBe(200)
      expect(warnings(gatewayLog.lines)).toHaveLength(1)
      expect(warnings(bookingLog.lines)).toHaveLength(1)
    } finally {
      await gateway.close()
      await booking.close()
    }
  })

  it('with auth on neither app logs it', async () => {
    const gatewayLog = capture()
    const bookingLog = capture()
    const authEnv = { AUTH_JWT_SECRET: SECRET }
    const gateway = await buildGatewayApp({
      config: loadGatewayConfig(appEnv(env, authEnv)),
      logger: gatewayLog.logger,
      workers: false,
    })
    const booking = await buildBookingApp({
      config: loadBookingConfig(appEnv(env, authEnv)),
      logger: bookingLog.logger,
    })
    try {
      await Promise.all([gateway.ready(), booking.ready()])
      expect(warnings(gatewayLog.lines)).toHaveLength(0)
      expect(warnings(bookingLog.lines)).toHaveLength(0)
    } finally {
      await gateway.close()
      await booking.close()
    }
  })

  it('v1 behaviour: account creation generates the id, and a JWT sent anyway is ignored', async () => {
    const booking = await buildBooking(env)
    try {
      const response = await booking.inject({
        method: 'POST',
        url: '/v1/accounts',
        headers: { 'x-account-token': await signAccountToken('chosen-id', { secret: SECRET }) },
        payload: { email: 'v1-fan@example.test', name: 'V1 Fan' },
      })
      expect(response.statusCode).toBe(201)
      expect(response.json().id).toMatch(/^[0-9a-f-]{36}$/)
    } finally {
      await booking.close()
    }
  })
})
