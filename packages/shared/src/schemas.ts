import { type TLiteral, type TSchemaOptions, type TUnion, Type } from 'typebox'

/*
 * TypeBox building blocks for the domain's values (SPEC §3), shared by both
 * apps' request and response schemas; the TypeScript types follow via Static<>.
 */

/** SPEC §3: 1..64 chars of [A-Za-z0-9_-] (UUIDs allowed). */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const AccountIdSchema = Type.String({
  pattern: ACCOUNT_ID_PATTERN.source,
  description: 'Account id: 1..64 characters of A-Z a-z 0-9 _ -',
  examples: ['demo-alice'],
})

/** Positive integer ids (events, schedules, seats, reservations). */
export const IdSchema = Type.Integer({ minimum: 1, maximum: 999_999_999_999_999 })

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> }

/**
 * A union of string literals from a `const` list, so a set of values (token
 * statuses, expiry reasons, seat statuses) is written once and both the schema
 * and its Static<> type follow it. Same JSON Schema as Type.Union of Type.Literal.
 */
export function literalUnion<const T extends readonly string[]>(
  values: T,
  options?: TSchemaOptions,
): TUnion<Literals<T>> {
  // map() forgets the tuple's element types; the cast restores what it provably built.
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  ) as unknown as TUnion<Literals<T>>
}
