import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely'
import { createQueryCompiler, type DbExecutor } from './connection.js'
import type { Database } from './database.js'

/*
 * Statements built and compiled by Kysely once, then run many times with new values.
 * A purchase runs about a dozen statements; building one (immutable operation nodes,
 * each frozen) and compiling it cost more of the booking API's CPU than mysql2's own
 * work, about a sixth of it in all during `pnpm bench`'s purchases. The SQL text and the
 * result types are still Kysely's: only the build and the compile are done ahead.
 */

const NAME = Symbol('prepared statement parameter')

interface Placeholder {
  readonly [NAME]: string
}

function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === 'object' && value !== null && NAME in value
}

/** `param(name)`: stands for the value a run is given under that name. */
export type Param<V> = <K extends keyof V & string>(name: K) => V[K]

/** Builds the statement once (annotate `param` as `Param<{ … }>`: that names the values). */
export type PreparedBuild<V, O> = (db: Kysely<Database>, param: Param<V>) => Compilable<O>

export interface Prepared<V, O> {
  /** The SQL text, compiled once. */
  readonly sql: string
  /** The statement with `values` in its placeholders. */
  compile(values: V): CompiledQuery<O>
  /** Runs it on `db` (the pool or a transaction). */
  run(db: DbExecutor, values: V): Promise<QueryResult<O>>
}

const compiler = createQueryCompiler()

/**
 * Compiles `build` once. Every `param(name)` must end up as a bound parameter (`?`),
 * which Kysely makes of any value; one it would write into the SQL text instead (an
 * identifier, `sql.lit`) is refused here, when the module loads. A statement whose shape
 * depends on the values (a list of varying length) is one statement per shape:
 * `preparedPerCount`.
 */
export function prepare<V extends object, O>(build: PreparedBuild<V, O>): Prepared<V, O> {
  const asked = new Set<string>()
  const compiled = build(compiler, <K extends keyof V & string>(name: K) => {
    asked.add(name)
    return { [NAME]: name } as never
  }).compile()
  // Per parameter position: the value's name, or undefined for a constant of the statement.
  const slots = compiled.parameters.map((value) => (isPlaceholder(value) ? value[NAME] : undefined))
  for (const name of asked) {
    if (!slots.includes(name)) throw new Error(`prepared statement: ${name} is not a bound parameter`)
  }
  const compile = (values: V): CompiledQuery<O> => ({
    ...compiled,
    parameters: compiled.parameters.map((constant, i) => {
      const slot = slots[i]
      return slot === undefined ? constant : (values as Record<string, unknown>)[slot]
    }),
  })
  return {
    sql: compiled.sql,
    compile,
    run: (db, values) => db.executeQuery(compile(values)),
  }
}

/**
 * One prepared statement per count of rows or list items (an order's seats), each
 * compiled the first time its count is used; counts above `maxCount` are compiled per
 * run, so a caller cannot fill the map.
 */
export function preparedPerCount<V extends object, O>(
  build: (count: number) => PreparedBuild<V, O>,
  maxCount = 32,
): (count: number) => Prepared<V, O> {
  const byCount = new Map<number, Prepared<V, O>>()
  return (count) => {
    const known = byCount.get(count)
    if (known) return known
    const prepared = prepare(build(count))
    if (count <= maxCount) byCount.set(count, prepared)
    return prepared
  }
}
