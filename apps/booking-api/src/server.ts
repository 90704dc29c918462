import { runServer } from '@concert/http'
import { buildBookingApp } from './app.js'
import { loadBookingConfig } from './config.js'

const config = loadBookingConfig()
const app = await buildBookingApp({ config })
await runServer(app, config.http.port, config.http.host)
