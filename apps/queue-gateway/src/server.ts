import { runServer } from '@concert/http'
import { loadConfigOrExit } from '@concert/shared'
import { buildGatewayApp } from './app.js'
import { loadGatewayConfig } from './config.js'

// Every setting is checked before anything connects: a bad one is reported with all the others, and exit 1.
const config = loadConfigOrExit('queue-gateway', loadGatewayConfig)
const app = await buildGatewayApp({ config })
await runServer(app, config.http.port, config.http.host)
