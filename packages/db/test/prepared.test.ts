// By path, not by package name: @concert/testing depends on this package.

import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { insertAccounts, useTestEnv } from '../../testing/src/index.js'
import { createQueryCompiler, type Param, prepare, preparedPerCount } from '../src/index.js'

const env = useTestEnv()
const compiler = createQueryCompiler()

describe('prepare', () => {
  it('compiles the same SQL as Kysely builds per call, with each run’s values in their places', () => {
    const debit = prepare((db, p: Param<{ id: string; amount: number }>) =>
      db
        .updateTable('ACCOUNT')
        .set({ amount: sql`amount - ${p('amount')}` })
        .where('id', '=', p('id'))
        .where('amount', '>=', p('amount'))
        .where('name', '!=', 'constant'),
    )
    const direct = compiler
      .updateTable('ACCOUNT')
      .set({ amount: sql`amount - ${700}` })
      .where('id', '=', 'a-1')
      .where('amount', '>=', 700)
      .where('name', '!=', 'constant')
      .compile()
    const prepared = debit.compile({ id: 'a-1', amount: 700 })
    expect(prepared.sql).toBe(direct.sql)
    expect(prepared.parameters).toEqual(direct.parameters)
    // Runs do not leak into each other.
    expect(debit.compile({ id: 'a-2', amount: 5 }).parameters).toEqual([5, 'a-2', 5, 'constant'])
    expect(prepared.parameters).toEqual([700, 'a-1', 700, 'constant'])
  })

  it('refuses a named value that does not end up bound (Kysely itself refuses one it would inline)', () => {
    expect(() =>
      prepare((db, p: Param<{ id: string; unused: number }>) => {
        p('unused')
        return db.selectFrom('ACCOUNT').select('id').where('id', '=', p('id'))
      }),
    ).toThrow('prepared statement: unused is not a bound parameter')
    expect(() =>
      prepare((db, p: Param<{ column: string }>) =>
        db
          .selectFrom('ACCOUNT')
          .select('id')
          .where(sql.raw(p('column')), '>', 0),
      ),
    ).toThrow()
  })

  it('runs on MySQL: a guarded debit moves money only when it is covered', async () => {
    await insertAccounts(env.db, 2, { prefix: 'prep', balance: 1_000 })
    const debit = prepare((db, p: Param<{ id: string; amount: number }>) =>
      db
        .updateTable('ACCOUNT')
        .set({ amount: sql`amount - ${p('amount')}` })
        .where('id', '=', p('id'))
        .where('amount', '>=', p('amount')),
    )
    const balance = prepare((db, p: Param<{ id: string }>) =>
      db.selectFrom('ACCOUNT').select('amount').where('id', '=', p('id')),
    )
    expect(Number((await debit.run(env.db, { id: 'prep-1', amount: 400 })).numAffectedRows)).toBe(1)
    expect(Number((await debit.run(env.db, { id: 'prep-1', amount: 601 })).numAffectedRows)).toBe(0)
    await env.db.transaction().execute(async (trx) => {
      expect(Number((await debit.run(trx, { id: 'prep-2', amount: 1_000 })).numAffectedRows)).toBe(1)
    })
    expect((await balance.run(env.db, { id: 'prep-1' })).rows).toEqual([{ amount: 600 }])
    expect((await balance.run(env.db, { id: 'prep-2' })).rows).toEqual([{ amount: 0 }])
  })
})

describe('preparedPerCount', () => {
  it('compiles one statement per count, keeps those up to maxCount, and builds larger ones per call', () => {
    let built = 0
    const byIds = preparedPerCount((count) => {
      built += 1
      return (db, p: Param<Record<string, string>>) =>
        db
          .selectFrom('ACCOUNT')
          .select('id')
          .where(
            'id',
            'in',
            Array.from({ length: count }, (_, i) => p(`id${i}`)),
          )
    }, 3)
    expect(byIds(2).compile({ id0: 'a', id1: 'b' }).parameters).toEqual(['a', 'b'])
    expect(byIds(2)).toBe(byIds(2))
    expect(byIds(1).sql).toBe(
      compiler.selectFrom('ACCOUNT').select('id').where('id', 'in', ['x']).compile().sql,
    )
    expect(built).toBe(2)
    byIds(4)
    byIds(4)
    expect(built).toBe(4)
  })
})
