import { ACCOUNT_ID_PATTERN, AppError, type AuthConfig } from '@concert/shared'
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose'

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

/** Builds the verifier for `config`, or undefined when accounts are not authenticated. */
export function createAccountTokenVerifier(config: AuthConfig): AccountTokenVerifier | undefined {
  const { keys } = config
  if (!keys) return undefined
  const getKey: Uint8Array | JWTVerifyGetKey =
    keys.kind === 'secret'
      ? new TextEncoder().encode(keys.secret)
      : // jose caches the set (10 min) and refetches at most every 30 s for an unknown `kid` (key rotation).
        createRemoteJWKSet(new URL(keys.jwksUrl), { timeoutDuration: 3_000 })
  const options: JWTVerifyOptions = {
    algorithms: keys.kind === 'secret' ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without an expiry would be good forever; one without a subject names nobody.
    requiredClaims: ['exp', 'sub'],
  }

  return {
    description: keys.kind === 'secret' ? 'HS256 shared secret' : `JWKS at ${keys.jwksUrl}`,
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        throw new AppError('ACCOUNT_AUTH_INVALID', 'the account token is not a compact JWT')
      }
      let subject: string | undefined
      try {
        // Two call shapes because jose overloads on the key type.
        const { payload } =
          getKey instanceof Uint8Array
            ? await jwtVerify(token, getKey, options)
            : await jwtVerify(token, getKey, options)
        subject = payload.sub
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
      return subject
    },
  }
}
