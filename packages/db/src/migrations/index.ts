import type { Migration } from 'kysely'
import * as initialSchema from './0001-initial-schema.js'
import * as operatorCatalogue from './0002-operator-catalogue.js'
import * as queueDurability from './0003-queue-durability.js'
import * as ordersAndRefunds from './0004-orders-and-refunds.js'

/**
 * Migrations are listed here rather than read from disk, so they work the same
 * under tsx, Vitest and a bundled build. Names sort in the order they run.
 */
export const migrations: Record<string, Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-operator-catalogue': operatorCatalogue,
  '0003-queue-durability': queueDurability,
  '0004-orders-and-refunds': ordersAndRefunds,
}
