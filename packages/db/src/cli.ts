/**
 * `pnpm db:migrate` / `pnpm db:seed`: create the database if missing, bring the
 * schema up to date, and (for seed) write the demo data. Both are safe to rerun.
 */
import { loadConfigOrExit, loadInfraConfig } from '@concert/shared'
import { isConnectionError } from './db-error.js'
import { mysqlUnreachableMessage, setUpDatabase } from './setup.js'

async function main(command: string | undefined): Promise<void> {
  if (command !== 'migrate' && command !== 'seed') {
    throw new Error('usage: cli.ts migrate|seed')
  }
  const { mysqlUrl } = loadConfigOrExit(`db ${command}`, loadInfraConfig)
  try {
    for (const line of await setUpDatabase(mysqlUrl, { seed: command === 'seed' })) console.log(line)
  } catch (error) {
    throw isConnectionError(error) ? new Error(mysqlUnreachableMessage(mysqlUrl, error)) : error
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
})
