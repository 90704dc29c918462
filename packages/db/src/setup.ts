import { describeAddress } from '@concert/shared'
import { createDb, ensureDatabase } from './connection.js'
import { migrateToLatest } from './migrate.js'
import { seedDemoData } from './seed/seed.js'

/**
 * Creates the database if missing, brings the schema up to date and, with
 * `seed`, writes the demo data. Safe to rerun. Returns one line per step for
 * the console (`pnpm db:migrate`, `pnpm db:seed`, `pnpm start`).
 */
export async function setUpDatabase(url: string, { seed }: { seed: boolean }): Promise<string[]> {
  await ensureDatabase(url)
  const db = createDb({ url, poolSize: 2 })
  try {
    const ran = await migrateToLatest(db)
    const lines = [ran.length ? `migrated: ${ran.join(', ')}` : 'migrations: already up to date']
    if (seed) {
      const added = Object.entries(await seedDemoData(db)).filter(([, count]) => count > 0)
      lines.push(
        added.length
          ? `seeded: ${added.map(([table, count]) => `${count} ${table}`).join(', ')}`
          : 'seed: demo data already present',
      )
    }
    return lines
  } finally {
    await db.destroy()
  }
}

/** The one line a person sees when MySQL cannot be reached: which server, where, what to do. */
export function mysqlUnreachableMessage(url: string, error: unknown): string {
  const reason = (error as { message?: string }).message || (error as { code?: string }).code || 'no answer'
  return `MySQL is not reachable at ${describeAddress(url)} (${reason}): start MariaDB/MySQL or set MYSQL_URL`
}
