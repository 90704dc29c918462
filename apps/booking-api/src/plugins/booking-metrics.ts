import { collectOrOmit } from '@concert/http'
import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { seatsLeftByEvent } from '../repositories/catalog.repository.js'

/** Seats still for sale per event id, as the seats-left gauge shows them. */
export type SeatsLeftSource = () => Promise<ReadonlyMap<number, number>>

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Where `booking_seats_left` reads its figures at each scrape. The default counts
     * unsold seats of shows from today (UTC) on; the sale lifecycle may swap in its
     * own per-event figures (shows still on sale in their venue's zone).
     */
    seatsLeft: { source: SeatsLeftSource }
  }
}

/** Metrics of the booking API an operator watches during an on-sale, besides reservation outcomes. */
export const bookingMetricsPlugin = fp(
  async (app) => {
    const defaultSource: SeatsLeftSource = async () => {
      const today = new Date().toISOString().slice(0, 10)
      const rows = await seatsLeftByEvent(app.db, today)
      return new Map(rows.map((row) => [row.eventId, Number(row.seatsLeft)]))
    }
    app.decorate('seatsLeft', { source: defaultSource })
    new Gauge({
      name: 'booking_seats_left',
      help: 'Seats still for sale per event (shows from today on)',
      labelNames: ['event'],
      registers: [app.metrics],
      async collect() {
        this.reset()
        await collectOrOmit(this, async () => {
          for (const [eventId, seats] of await app.seatsLeft.source()) this.set({ event: eventId }, seats)
        })
      },
    })
  },
  { name: 'booking-metrics', dependencies: ['metrics', 'mysql'] },
)
