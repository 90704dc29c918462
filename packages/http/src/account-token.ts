import { ACCOUNT_ID_PATTERN, AppError, type AuthConfig } from '@concert/shared'
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose'
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
    // jose refuses once `exp <= now - tolerance` (seconds): good while now < exp + tolerance.
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
  // The HMAC key is imported into WebCrypto once: given raw bytes, jose imports them on every call.
  const secretKey =
    keys.kind === 'secret'
      ? crypto.subtle.importKey(
          'raw',
          new TextEncoder().encode(keys.secret),
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['verify'],
        )
      : undefined
  // jose caches the set (10 min) and refetches at most every 30 s for an unknown `kid` (key rotation).
  const jwks =
    keys.kind === 'jwks' ? createRemoteJWKSet(new URL(keys.jwksUrl), { timeoutDuration: 3_000 }) : undefined
  const options: JWTVerifyOptions = {
    algorithms: keys.kind === 'secret' ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without an expiry would be good forever; one without a subject names nobody.
    requiredClaims: ['exp', 'sub'],
  }
  const verified = new VerifiedTokens(cacheOptions, config.clockToleranceSeconds * 1000)

  return {
    description: keys.kind === 'secret' ? 'HS256 shared secret' : `JWKS at ${keys.jwksUrl}`,
    async verify(token) {
      const known = verified.get(token)
      if (known !== undefined) return known
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        throw new AppError('ACCOUNT_AUTH_INVALID', 'the account token is not a compact JWT')
      }
      let subject: string | undefined
      let exp: number | undefined
      try {
        // Two call shapes because jose overloads on the key type.
        const { payload } = secretKey
          ? await jwtVerify(token, await secretKey, options)
          : await jwtVerify(token, jwks as JWTVerifyGetKey, options)
        subject = payload.sub
        exp = payload.exp
      } catch (error) {
        if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
          throw new AppError('ACCOUNT_AUTH_INVALID', describeTokenFault(error), { cause: error })
        }
        if (keys.kind === 'secret') {
          // Nothing remote is involved: whatever went wrong, it was the token.
          throw new AppError('ACCOUNT_AUTH_INVALID', 'the account token is not a valid signed JWT', {
            cause: error,
          })
        }
        throw new AppError('SERVICE_UNAVAILABLE', 'the identity provider’s keys could not be fetched', {
          retryAfter: 5,
          cause: error,
        })
      }
      if (subject === undefined || !ACCOUNT_ID_PATTERN.test(subject)) {
        throw new AppError(
          'ACCOUNT_AUTH_INVALID',
          'the account token\'s "sub" is not an account id (1..64 characters of A-Z a-z 0-9 _ -)',
        )
      }
      // requiredClaims made jose check that `exp` is there and a number.
      verified.remember(token, subject, exp as number)
      return subject
    },
  }
}
