export { type BookingAppOptions, buildBookingApp } from './app.js'
export { type BookingConfig, loadBookingConfig } from './config.js'
