import { runServer } from '@concert/http'
import { loadConfigOrExit } from '@concert/shared'
import { buildBookingApp } from './app.js'
import { loadBookingConfig } from './config.js'

// Every setting is checked before anything connects: a bad one is reported with all the others, and exit 1.
const config = loadConfigOrExit('booking-api', loadBookingConfig)
const app = await buildBookingApp({ config })
await runServer(app, config.http.port, config.http.host)
