import { type App, createBaseApp } from '@concert/http'
import type { FastifyServerOptions } from 'fastify'
import type { BookingConfig } from './config.js'

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
    infra: config.infra,
    logger,
  })
  return app
}
