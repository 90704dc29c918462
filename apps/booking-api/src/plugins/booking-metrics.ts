import { perEventGauges } from '@concert/http'
import { liveEventIds } from '@concert/queue'
import fp from 'fastify-plugin'
import type { CatalogService } from '../services/catalog.service.js'

export interface BookingMetricsOptions {
  catalog: CatalogService
}

type Seats = { total: number; sold: number }

/**
 * Metrics of the booking API an operator watches during an on-sale, besides reservation
 * outcomes: the seats of each event's shows still on sale (not started in their venue's
 * zone), the figures `GET /v1/admin/events/{id}/queue` answers as seatsTotal, seatsSold and
 * seatsLeft (CatalogService.seatsOnSale, one query per event), for the events whose sale
 * can still move (sale.ts#liveEventIds), so the label set stays bounded.
 */
export const bookingMetricsPlugin = fp<BookingMetricsOptions>(
  async (app, { catalog }) => {
    const readAll = async (): Promise<Map<number, Seats>> => {
      const read = new Map<number, Seats>()
      try {
        for (const eventId of await liveEventIds(app.db))
          read.set(eventId, await catalog.seatsOnSale(eventId))
      } catch (error) {
        // MySQL down: no seat figures this scrape, but /metrics still answers (the pool gauges say why).
        app.log.warn({ err: error }, 'seat figures unreadable for /metrics')
      }
      return read
    }
    const gauge = perEventGauges([app.metrics], readAll)
    gauge('booking_seats_total', 'Seats of the event’s shows still on sale', (s) => s.total)
    gauge('booking_seats_sold', 'Seats sold of the event’s shows still on sale', (s) => s.sold)
    gauge(
      'booking_seats_left',
      'Seats still for sale per event (shows not yet started in their venue’s zone)',
      (s) => Math.max(0, s.total - s.sold),
    )
  },
  { name: 'booking-metrics', dependencies: ['metrics', 'mysql'] },
)
