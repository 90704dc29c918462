import { customAlphabet } from 'nanoid'

// URL-safe without '-' or '_' so a token reads as one word; 22 chars ≈ 131 bits.
const randomPart = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 22)

const TOKEN_PATTERN = /^([1-9][0-9]{0,14})\.([0-9A-Za-z]{22})$/

/**
 * A queue token names its event (`<eventId>.<random>`), so any process can
 * find the token's keys (and Cluster slot) from the token alone.
 */
export function newToken(eventId: number): string {
  return `${eventId}.${randomPart()}`
}

/** The event of a well-formed token, or undefined for anything else. */
export function eventOfToken(token: string): number | undefined {
  const match = TOKEN_PATTERN.exec(token)
  return match ? Number(match[1]) : undefined
}
