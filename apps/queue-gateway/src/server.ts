import { runServer } from '@concert/http'
import { buildGatewayApp } from './app.js'
import { loadGatewayConfig } from './config.js'

const config = loadGatewayConfig()
const app = await buildGatewayApp({ config })
await runServer(app, config.http.port, config.http.host)
