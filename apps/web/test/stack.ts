import { buildBookingApp, loadBookingConfig } from '@concert/booking-api'
import type { App } from '@concert/http'
import { buildGatewayApp, loadGatewayConfig } from '@concert/queue-gateway'
import {
  appEnv,
  freePort,
  listenOnLoopback,
  startTcpProxy,
  type TcpProxy,
  type TestEnv,
} from '@concert/testing'
import { inject } from 'vitest'

/** Both apps on real loopback ports, the gateway serving the built web app, as `pnpm start` runs them. */
export interface Stack {
  /** The URL a fan opens (the gateway, or the proxy in front of it). */
  pageUrl: string
  bookingUrl: string
  gateway: App
  booking: App
  /** Between the browser and the gateway, when asked for: cut() it for a network blip. */
  proxy: TcpProxy | undefined
  close(): Promise<void>
}

export interface StackOptions {
  /** Extra gateway environment (admission rate, …). */
  gateway?: Record<string, string>
  booking?: Record<string, string>
  /** Put a TCP proxy between the browser and the gateway. */
  proxy?: boolean
}

/**
 * Starts booking-api (CORS open to the page's origin) and a gateway with its
 * workers (admission loop) that serves the web app and points it at booking-api.
 */
export async function startStack(env: TestEnv, options: StackOptions = {}): Promise<Stack> {
  // Chosen before the gateway listens (the booking API's CORS origin and the proxy name it),
  // so from below the ephemeral range: a port 0 handed out there was taken once by an
  // outgoing MySQL or Redis connection before the gateway listened (EADDRINUSE in CI).
  const gatewayPort = await freePort()
  const proxy = options.proxy ? await startTcpProxy(gatewayPort) : undefined
  const pageOrigin = `http://127.0.0.1:${proxy?.port ?? gatewayPort}`
  const booking = await buildBookingApp({
    config: loadBookingConfig(
      appEnv(env, { DB_POOL_SIZE: '5', CORS_ORIGINS: pageOrigin, ...options.booking }),
    ),
    logger: false,
  })
  const bookingUrl = await listenOnLoopback(booking)
  const gateway = await buildGatewayApp({
    config: loadGatewayConfig(
      appEnv(env, {
        DB_POOL_SIZE: '5',
        WEB_DIST: inject('webDist'),
        WEB_BOOKING_URL: bookingUrl,
        QUEUE_ADMIT_INTERVAL_MS: '50',
        ISSUE_RATE_LIMIT_PER_MINUTE: '100000',
        ...options.gateway,
      }),
    ),
    logger: false,
  })
  await listenOnLoopback(gateway, gatewayPort)
  return {
    pageUrl: `${pageOrigin}/`,
    bookingUrl,
    gateway,
    booking,
    proxy,
    async close() {
      await proxy?.close()
      await gateway.close()
      await booking.close()
    },
  }
}
