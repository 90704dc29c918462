import type { App } from '@concert/http'
import { AdminKeyring, adminKeyCheck } from '../../plugins/admin-auth.js'
import type { CatalogService } from '../../services/catalog.service.js'
import type { SaleService } from '../../services/sale.service.js'
import { eventAdminRoutes } from './events.js'
import { reservationAdminRoutes } from './reservations.js'
import { scheduleAdminRoutes } from './schedules.js'
import { venueAdminRoutes } from './venues.js'

export interface AdminRoutesOptions {
  /** ADMIN_API_KEYS; none: every admin route answers 503 ADMIN_DISABLED. */
  keys: readonly string[]
  catalog: CatalogService
  sale: SaleService
}

/**
 * The operator API (SPEC §7) under /v1/admin. Registered without fastify-plugin on
 * purpose: the admin key check is a hook of this scope only, so it guards exactly
 * these routes and nothing else of the app.
 */
export async function adminRoutes(app: App, { keys, catalog, sale }: AdminRoutesOptions): Promise<void> {
  app.decorateRequest('adminKeyId', undefined)
  app.addHook('onRequest', adminKeyCheck(new AdminKeyring(keys)))
  await app.register(venueAdminRoutes)
  await app.register(eventAdminRoutes, { catalog, sale })
  await app.register(scheduleAdminRoutes, { catalog })
  await app.register(reservationAdminRoutes, { catalog, sale })
}
