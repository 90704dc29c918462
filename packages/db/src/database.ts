import type { AccountTable } from './tables/account.table.js'
import type { AdminAuditTable } from './tables/admin-audit.table.js'
import type { BalanceHistoryTable } from './tables/balance-history.table.js'
import type { EventTable } from './tables/event.table.js'
import type { EventScheduleTable } from './tables/event-schedule.table.js'
import type { QueueEpochTable } from './tables/queue-epoch.table.js'
import type { QueueTokenTable } from './tables/queue-token.table.js'
import type { ReservationTable } from './tables/reservation.table.js'
import type { SeatPriceTable } from './tables/seat-price.table.js'
import type { VenueTable } from './tables/venue.table.js'
import type { VenueSeatTable } from './tables/venue-seat.table.js'

/** Table names keep the origin DDL's upper case. */
export interface Database {
  ACCOUNT: AccountTable
  BALANCE_HISTORY: BalanceHistoryTable
  QUEUE_TOKEN: QueueTokenTable
  QUEUE_EPOCH: QueueEpochTable
  EVENT: EventTable
  VENUE: VenueTable
  VENUE_SEAT: VenueSeatTable
  EVENT_SCHEDULE: EventScheduleTable
  SEAT_PRICE: SeatPriceTable
  RESERVATION: ReservationTable
  ADMIN_AUDIT: AdminAuditTable
}
