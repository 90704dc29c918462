import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/*
 * Account JWTs as an identity provider would issue them (SPEC §11), for tests and,
 * later, the web app's development login. No Vitest ties: import from '@concert/testing'.
 */

/** What signs: a shared HS256 secret, or a private key whose public half is in a JWKS. */
export type AccountSigningKey =
  | { secret: string }
  | { privateKey: CryptoKey; alg: AsymmetricAlgorithm; kid: string }

export type AsymmetricAlgorithm = 'RS256' | 'ES256'

export interface AccountTokenOptions {
  /** Seconds from now until `exp`; negative for an already expired token, null for none (default 300). */
  expiresIn?: number | null
  /** Seconds from now until `nbf` (default: no `nbf`). */
  notBefore?: number
  issuer?: string
  audience?: string
}

/** Signs a JWT whose `sub` is `accountId`. */
export async function signAccountToken(
  accountId: string,
  key: AccountSigningKey,
  options: AccountTokenOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT({})
    .setProtectedHeader('secret' in key ? { alg: 'HS256' } : { alg: key.alg, kid: key.kid })
    .setSubject(accountId)
    .setIssuedAt(now)
  const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn
  if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn)
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore)
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer)
  if (options.audience !== undefined) jwt.setAudience(options.audience)
  return jwt.sign('secret' in key ? new TextEncoder().encode(key.secret) : key.privateKey)
}

/** A fresh key pair: the signing key, and the public JWK to publish in a JWKS. */
export async function generateAccountSigningKey(
  alg: AsymmetricAlgorithm,
  kid: string,
): Promise<{ signingKey: AccountSigningKey & { privateKey: CryptoKey }; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { signingKey: { privateKey, alg, kid }, publicJwk }
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  url: string
  /** How many times the key set was fetched. */
  readonly fetches: number
  /** Replaces the published keys (key rotation), or makes the endpoint answer 503 (`null`). */
  publish(keys: JWK[] | null): void
  close(): Promise<void>
}

/** Serves a JWKS on loopback, like an identity provider's `jwks_uri`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let published: JWK[] | null = keys
  let fetches = 0
  const server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end()
      return
    }
    fetches += 1
    if (published === null) {
      response.writeHead(503).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' })
    response.end(JSON.stringify({ keys: published }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return fetches
    },
    publish(next) {
      published = next
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
