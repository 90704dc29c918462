import { createHash, timingSafeEqual } from 'node:crypto'
import { AppError } from '@concert/shared'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuditEntry } from '../repositories/admin-audit.repository.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin key check: which key (its id, never the key) made the request. */
    adminKeyId?: string
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest()

/** A key's id in ADMIN_AUDIT: 12 hex digits of its SHA-256, enough to tell keys apart, nothing to log in with. */
export function adminKeyId(key: string): string {
  return sha256(key).toString('hex').slice(0, 12)
}

/** The configured admin keys (ADMIN_API_KEYS), kept only as digests. */
export class AdminKeyring {
  private readonly keys: ReadonlyArray<{ digest: Buffer; id: string }>

  constructor(keys: readonly string[]) {
    this.keys = keys.map((key) => ({ digest: sha256(key), id: adminKeyId(key) }))
  }

  get enabled(): boolean {
    return this.keys.length > 0
  }

  /**
   * The id of the key `presented` is, or undefined. Digests have one length whatever
   * was sent, so timingSafeEqual compares them in constant time; every key is compared
   * (no early exit), so timing tells neither the key nor which one matched.
   */
  identify(presented: string): string | undefined {
    const digest = sha256(presented)
    let match: string | undefined
    for (const key of this.keys) {
      const equal = timingSafeEqual(digest, key.digest)
      if (equal && match === undefined) match = key.id
    }
    return match
  }
}

/**
 * onRequest hook of the admin routes: runs before the body is read, so a caller
 * without a key learns nothing about the body, however large or malformed.
 * No key configured → 503 ADMIN_DISABLED; missing or wrong key → 401 ADMIN_UNAUTHORIZED.
 */
export function adminKeyCheck(keyring: AdminKeyring) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!keyring.enabled) {
      throw new AppError('ADMIN_DISABLED', 'the admin API is off: no ADMIN_API_KEYS are configured')
    }
    const header = request.headers.authorization
    const presented = header === undefined ? undefined : BEARER.exec(header)?.[1]
    const keyId = presented === undefined ? undefined : keyring.identify(presented)
    if (keyId === undefined) {
      reply.header('www-authenticate', 'Bearer realm="admin"')
      throw new AppError('ADMIN_UNAUTHORIZED', 'send an admin key as "Authorization: Bearer <key>"')
    }
    request.adminKeyId = keyId
  }
}

/** What ADMIN_AUDIT records of this request: key id, method, route pattern and body. */
export function auditEntry(request: FastifyRequest): AuditEntry {
  if (request.adminKeyId === undefined) throw new Error('route is not behind the admin key check')
  return {
    keyId: request.adminKeyId,
    method: request.method,
    route: request.routeOptions.url ?? request.url,
    body: request.body ?? null,
  }
}
