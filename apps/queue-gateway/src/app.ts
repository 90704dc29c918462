import { type App, createBaseApp } from '@concert/http'
import type { FastifyServerOptions } from 'fastify'
import type { GatewayConfig } from './config.js'

export interface GatewayAppOptions {
  config: GatewayConfig
  logger?: FastifyServerOptions['logger']
}

/** The queue gateway as a plugin-composed Fastify app; tests build it, server.ts listens. */
export async function buildGatewayApp({ config, logger }: GatewayAppOptions): Promise<App> {
  const app = await createBaseApp({
    name: 'queue-gateway',
    title: 'Concert queue gateway',
    description: 'Issues queue tokens, reports positions and admits fans to the booking API.',
    infra: config.infra,
    logger,
    trustProxy: config.trustProxy,
  })
  return app
}
