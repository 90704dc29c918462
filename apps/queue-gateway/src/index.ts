export { buildGatewayApp, type GatewayAppOptions } from './app.js'
export { type GatewayConfig, loadGatewayConfig } from './config.js'
