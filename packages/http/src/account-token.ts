import { ACCOUNT_ID_PATTERN, AppError, type AuthConfig } from '@concert/shared'
import { createVerifier, TokenError } from 'fast-jwt'
import { createRemoteJWKSet, errors, type JWTVerifyOptions, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'

/**
 * Algorithms a JWKS key may sign with. Pinned so that a token cannot pick its own
 * (`none`, or HS256 with the public key as the secret: the classic confusion attack).
 */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]
export const SECRET_ALGORITHMS = ['HS256']

/** Longer than any real JWT; refuses junk before it reaches the crypto. */
const MAX_TOKEN_LENGTH = 8 * 1024
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * Errors that mean "this token is not acceptable", as opposed to "the key
 * server could not be asked" (timeouts, non-200, a malformed key set).
 */
const TOKEN_FAULTS = new Set([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
])

export interface AccountTokenVerifier {
  /** Where keys come from, for the startup log line (never the secret). */
  readonly description: string
  /**
   * The account id (`sub`) of a valid token. Throws ACCOUNT_AUTH_INVALID for a
   * token that is not acceptable, SERVICE_UNAVAILABLE when the JWKS cannot be fetched.
   */
  verify(token: string): Promise<string>
}

function describeTokenFault(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'the account token has expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `the account token's "${error.claim}" claim is not acceptable (${error.reason})`
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the account token is signed with an algorithm not accepted here'
  if (error instanceof errors.JWKSNoMatchingKey) return 'the account token is signed with an unknown key'
  return 'the account token is not a valid signed JWT'
}

/** How the verifier remembers tokens it has already verified (see VerifiedTokens). */
export interface VerifiedTokenCacheOptions {
  /** Tokens remembered at most (least recently used forgotten first); 0 turns the cache off. */
  maxEntries: number
  /** Characters of tokens remembered at most (tokens may be up to 8 KiB each). */
  maxChars: number
  /** The longest a verified token is trusted without verifying it again, however late its `exp`. */
  maxAgeMs: number
}

export const DEFAULT_VERIFIED_TOKEN_CACHE: VerifiedTokenCacheOptions = {
  maxEntries: 100_000,
  maxChars: 64 * 1024 * 1024,
  // Not longer than jose's own JWKS cache (10 min), so a key the identity provider
  // withdraws stops being honoured no later than it does without this cache.
  maxAgeMs: 5 * 60_000,
}

interface Verified {
  subject: string
  /** Epoch ms past which the token is expired even with the clock tolerance. */
  goodUntil: number
}

/**
 * Tokens that passed the full verification, keyed by the exact JWT text, so a fan's
 * repeated calls skip the signature check (an asynchronous WebCrypto job each).
 * Why this is safe: whether a JWT is acceptable depends only on its bytes, the
 * keys and the clock. The key is the whole token, signature included, so any other
 * token (one byte changed, another account's, a forged one) misses and is verified in
 * full. The clock part is `exp`, checked on every hit against the same tolerance
 * jose applies, and `nbf` can only turn a refused token into an accepted one, never
 * the other way. The keys part is bounded by `maxAgeMs`. Only successes are kept:
 * refused tokens are always verified again, and are never cached.
 */
class VerifiedTokens {
  private readonly entries: LRUCache<string, Verified> | undefined

  constructor(
    private readonly options: VerifiedTokenCacheOptions,
    private readonly clockToleranceMs: number,
  ) {
    this.entries =
      options.maxEntries > 0
        ? new LRUCache<string, Verified>({
            max: options.maxEntries,
            maxSize: options.maxChars,
            sizeCalculation: (_value, token) => token.length,
          })
        : undefined
  }

  get(token: string): string | undefined {
    const entry = this.entries?.get(token)
    if (!entry) return undefined
    if (Date.now() < entry.goodUntil) return entry.subject
    this.entries?.delete(token)
    return undefined
  }

  remember(token: string, subject: string, exp: number): void {
    const now = Date.now()
    // Both verifiers refuse once now is past exp + tolerance: good while now < exp + tolerance.
    const goodUntil = Math.min(exp * 1000 + this.clockToleranceMs, now + this.options.maxAgeMs)
    if (goodUntil > now) this.entries?.set(token, { subject, goodUntil })
  }
}

/** Builds the verifier for `config`, or undefined when accounts are not authenticated. */
export function createAccountTokenVerifier(
  config: AuthConfig,
  cacheOptions: VerifiedTokenCacheOptions = DEFAULT_VERIFIED_TOKEN_CACHE,
): AccountTokenVerifier | undefined {
  const { keys } = config
  if (!keys) return undefined
  const verified = new VerifiedTokens(cacheOptions, config.clockToleranceSeconds * 1000)
  const checkSignedClaims =
    keys.kind === 'secret' ? secretVerifier(config, keys.secret) : jwksVerifier(config, keys.jwksUrl)

  return {
    description: keys.kind === 'secret' ? 'HS256 shared secret' : `JWKS at ${keys.jwksUrl}`,
    async verify(token) {
      const known = verified.get(token)
      if (known !== undefined) return known
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        throw new AppError('ACCOUNT_AUTH_INVALID', 'the account token is not a compact JWT')
      }
      const { subject, exp } = await checkSignedClaims(token)
      if (subject === undefined || !ACCOUNT_ID_PATTERN.test(subject)) {
        throw new AppError(
          'ACCOUNT_AUTH_INVALID',
          'the account token\'s "sub" is not an account id (1..64 characters of A-Z a-z 0-9 _ -)',
        )
      }
      verified.remember(token, subject, exp)
      return subject
    },
  }
}

/** A token's subject and expiry once its signature and claims passed; throws the 401/503 otherwise. */
type SignedClaimsCheck = (token: string) => Promise<{ subject: string | undefined; exp: number }>

/**
 * HS256 with the shared secret, by fast-jwt: synchronous HMAC on Node's crypto. jose runs
 * HMAC as a WebCrypto job, 26-37 µs a token here against ~3 µs; every fan's first join
 * checks one (the cache above takes the rest), so at an opening it was ~8 % of the gateway's
 * CPU per join. Same rules as jose's: HS256 only, `exp` and `sub` required (and `iss` and
 * `aud` when configured, matched exactly), `exp` and `nbf` with the clock tolerance.
 */
function secretVerifier(config: AuthConfig, secret: string): SignedClaimsCheck {
  const required = ['exp', 'sub']
  if (config.issuer !== undefined) required.push('iss')
  if (config.audience !== undefined) required.push('aud')
  const verify = createVerifier({
    key: secret,
    algorithms: SECRET_ALGORITHMS as ['HS256'],
    ...(config.issuer !== undefined ? { allowedIss: config.issuer } : {}),
    ...(config.audience !== undefined ? { allowedAud: config.audience } : {}),
    clockTolerance: config.clockToleranceSeconds * 1000,
    requiredClaims: required,
  })
  return async (token) => {
    let payload: { sub?: unknown; exp?: unknown; iat?: unknown }
    try {
      payload = verify(token) as typeof payload
    } catch (error) {
      // Nothing remote is involved: whatever went wrong, it was the token.
      throw new AppError('ACCOUNT_AUTH_INVALID', describeSecretTokenFault(error), { cause: error })
    }
    // jose refused an `iat` that is not a number; fast-jwt reads `iat` only for a maximum age.
    if ('iat' in payload && typeof payload.iat !== 'number') {
      throw new AppError(
        'ACCOUNT_AUTH_INVALID',
        'the account token\'s "iat" claim is not acceptable (check failed)',
      )
    }
    // fast-jwt checked that `exp` is there and a number; `sub` is checked by the caller.
    return { subject: typeof payload.sub === 'string' ? payload.sub : undefined, exp: payload.exp as number }
  }
}

const CLAIM_IN_MESSAGE = /\bThe (\w+) claim\b|\b(\w+) claim values\b/

function describeSecretTokenFault(error: unknown): string {
  if (!(error instanceof TokenError)) return 'the account token is not a valid signed JWT'
  switch (error.code) {
    case TokenError.codes.expired:
      return 'the account token has expired'
    case TokenError.codes.inactive:
      return 'the account token\'s "nbf" claim is not acceptable (not active yet)'
    case TokenError.codes.invalidAlgorithm:
      return 'the account token is signed with an algorithm not accepted here'
    case TokenError.codes.missingRequiredClaim:
    case TokenError.codes.invalidClaimType:
    case TokenError.codes.invalidClaimValue: {
      const match = CLAIM_IN_MESSAGE.exec(error.message)
      const claim = match?.[1] ?? match?.[2] ?? 'a'
      const reason = error.code === TokenError.codes.missingRequiredClaim ? 'missing' : 'check failed'
      return `the account token's "${claim}" claim is not acceptable (${reason})`
    }
    default:
      return 'the account token is not a valid signed JWT'
  }
}

/** Tokens signed by the identity provider's published keys (JWKS), by jose. */
function jwksVerifier(config: AuthConfig, jwksUrl: string): SignedClaimsCheck {
  // jose caches the set (10 min) and refetches at most every 30 s for an unknown `kid` (key rotation).
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 3_000 })
  const options: JWTVerifyOptions = {
    algorithms: JWKS_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without an expiry would be good forever; one without a subject names nobody.
    requiredClaims: ['exp', 'sub'],
  }
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, options)
      // requiredClaims made jose check that `exp` is there and a number; a `sub` that is
      // not a string names no account (the caller's pattern would read 123 as "123").
      return {
        subject: typeof payload.sub === 'string' ? payload.sub : undefined,
        exp: payload.exp as number,
      }
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
        throw new AppError('ACCOUNT_AUTH_INVALID', describeTokenFault(error), { cause: error })
      }
      throw new AppError('SERVICE_UNAVAILABLE', 'the identity provider’s keys could not be fetched', {
        retryAfter: 5,
        cause: error,
      })
    }
  }
}
