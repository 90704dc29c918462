/**
 * `pnpm db:migrate` / `pnpm db:seed`: create the database if missing, bring the
 * schema up to date, and (for seed) write the demo data. Both are safe to rerun.
 */
import { describeAddress, loadInfraConfig } from '@concert/shared'
import { createDb, ensureDatabase } from './connection.js'
import { isConnectionError } from './db-error.js'
import { migrateToLatest } from './migrate.js'
import { seedDemoData } from './seed/seed.js'

async function main(command: string | undefined): Promise<void> {
  if (command !== 'migrate' && command !== 'seed') {
    throw new Error('usage: cli.ts migrate|seed')
  }
  const config = loadInfraConfig()
  await ensureDatabase(config.mysqlUrl)
  const db = createDb({ url: config.mysqlUrl, poolSize: 2 })
  try {
    const ran = await migrateToLatest(db)
    console.log(ran.length ? `migrated: ${ran.join(', ')}` : 'migrations: already up to date')
    if (command === 'seed') {
      const summary = await seedDemoData(db)
      const added = Object.entries(summary).filter(([, count]) => count > 0)
      console.log(
        added.length
          ? `seeded: ${added.map(([table, count]) => `${count} ${table}`).join(', ')}`
          : 'seed: demo data already present',
      )
    }
  } finally {
    await db.destroy()
  }
}

main(process.argv[2]).catch((error: unknown) => {
  if (isConnectionError(error)) {
    const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/concert'
    console.error(`cannot reach MySQL at ${describeAddress(url)}: start it or set MYSQL_URL`)
  } else {
    console.error(error instanceof Error ? error.message : String(error))
  }
  process.exitCode = 1
})
