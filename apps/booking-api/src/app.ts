import { type App, createBaseApp, queueServicePlugin } from '@concert/http'
import type { FastifyServerOptions } from 'fastify'
import { adminSchemas } from './admin-schemas.js'
import type { BookingConfig } from './config.js'
import { bookingMetricsPlugin } from './plugins/booking-metrics.js'
import { tokenGuardPlugin } from './plugins/token-guard.js'
import { accountRoutes } from './routes/accounts.js'
import { adminRoutes } from './routes/admin/index.js'
import { catalogRoutes } from './routes/catalog.js'
import { reservationRoutes } from './routes/reservations.js'
import { bookingSchemas } from './schemas.js'
import { AccountService } from './services/account.service.js'
import { CatalogService } from './services/catalog.service.js'
import { ReservationService } from './services/reservation.service.js'
import { SaleService } from './services/sale.service.js'

export interface BookingAppOptions {
  config: BookingConfig
  logger?: FastifyServerOptions['logger']
}

/** The booking API as a plugin-composed Fastify app; tests build it, server.ts listens. */
export async function buildBookingApp({ config, logger }: BookingAppOptions): Promise<App> {
  const app = await createBaseApp({
    name: 'booking-api',
    title: 'Concert booking API',
    description: 'Accounts, balance, catalogue, seat maps and reserve-and-pay.',
    tags: [
      { name: 'accounts', description: 'Accounts, balance top-ups and an account’s reservations' },
      { name: 'catalogue', description: 'Events, their bookable shows and seat maps' },
      { name: 'reservations', description: 'Reserve and pay for a seat with a READY queue token' },
      {
        name: 'admin',
        description: 'The operator API: venues, events, shows, queue control and refunds (admin key)',
      },
    ],
    securitySchemes: ['queueToken', 'adminKey'],
    infra: config.infra,
    auth: config.auth,
    corsOrigins: config.http.corsOrigins,
    timeouts: config.http.timeouts,
    ops: config.ops,
    logger,
  })
  for (const schema of [...bookingSchemas, ...adminSchemas]) app.addSchema(schema)
  const prefix = config.infra.redisKeyPrefix
  await app.register(queueServicePlugin, { prefix, settings: config.queue, tuning: config.queueTuning })
  await app.register(tokenGuardPlugin)

  const accounts = new AccountService(app.db)
  const catalog = new CatalogService(
    app.db,
    app.redis,
    prefix,
    {
      catalogCacheMs: config.catalogCacheMs,
      seatMapCacheMs: config.seatMapCacheMs,
    },
    app.log,
  )
  await app.register(bookingMetricsPlugin, { catalog })
  const sale = new SaleService({ db: app.db, redis: app.redis, queue: app.queue, catalog, log: app.log })
  const reservations = new ReservationService({
    sale,
    db: app.db,
    redis: app.redis,
    queue: app.queue,
    catalog,
    prefix,
    seatLockTtlMs: config.seatLockTtlMs,
    claimTtlMs: config.claimTtlMs,
    claimWaitMs: config.claimWaitMs,
    log: app.log,
    metrics: app.metrics,
  })
  // A closed app asks MySQL nothing more in the background.
  app.addHook('onClose', async () => reservations.close())
  await app.register(accountRoutes, { accounts })
  await app.register(catalogRoutes, { catalog })
  await app.register(reservationRoutes, { catalog, reservations })
  await app.register(adminRoutes, { keys: config.adminApiKeys, catalog, sale })
  return app
}
