import { type Database, isDuplicateKey, isRowStillReferenced, retryOnDeadlock } from '@concert/db'
import { AppError } from '@concert/shared'
import type { Kysely } from 'kysely'
import type { AdminSchedule, CreateScheduleBody } from '../admin-schemas.js'
import { type AuditEntry, insertAudit } from '../repositories/admin-audit.repository.js'
import { lockEvent, refreshEventDates } from '../repositories/events.repository.js'
import { deleteSchedule, findShow, insertSchedule } from '../repositories/schedules.repository.js'
import type { CatalogService } from './catalog.service.js'
import { showView } from './event-admin.service.js'

/**
 * Adds a show. Date and times are wall-clock times in the venue's zone (SPEC §7).
 * The event row is locked first, so parallel additions keep its start/end dates exact.
 */
export async function addSchedule(
  db: Kysely<Database>,
  catalog: CatalogService,
  eventId: number,
  body: CreateScheduleBody,
  audit: AuditEntry,
): Promise<AdminSchedule> {
  // Parallel inserts of one date and time can deadlock in InnoDB; the victim was undone whole, so it reruns.
  const scheduleId = await retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      if (!(await lockEvent(trx, eventId))) {
        throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
      }
      let id: number
      try {
        id = await insertSchedule(trx, {
          eventId,
          date: body.date,
          startTime: body.startTime,
          endTime: body.endTime ?? null,
        })
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new AppError(
            'SCHEDULE_EXISTS',
            `event ${eventId} already has a show on ${body.date} at ${body.startTime}`,
          )
        }
        throw error
      }
      await refreshEventDates(trx, eventId)
      await insertAudit(trx, audit, id)
      return id
    }),
  )
  // The new show (and the event's new dates) are listed by every copy from the next request on.
  await catalog.catalogueChanged(eventId)
  const show = await findShow(db, scheduleId)
  if (!show) throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} was removed meanwhile`)
  return showView(show)
}

/**
 * Removes a show that has sold nothing. RESERVATION's foreign key is the guarantee:
 * a sale committing at the same moment either lands first (the delete is refused,
 * 409) or finds the show gone (its insert is refused, and the fan gets a 404).
 */
export async function removeSchedule(
  db: Kysely<Database>,
  catalog: CatalogService,
  scheduleId: number,
  audit: AuditEntry,
): Promise<void> {
  const show = await findShow(db, scheduleId)
  if (!show) throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} does not exist`)
  const hasSales = new AppError(
    'SCHEDULE_HAS_SALES',
    `schedule ${scheduleId} has sold seats; a show with sales cannot be removed`,
  )
  if (Number(show.seatsSold) > 0) throw hasSales

  await retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      await lockEvent(trx, show.eventId)
      let deleted: boolean
      try {
        deleted = await deleteSchedule(trx, scheduleId)
      } catch (error) {
        if (isRowStillReferenced(error)) throw hasSales
        throw error
      }
      if (!deleted) throw new AppError('SCHEDULE_NOT_FOUND', `schedule ${scheduleId} does not exist`)
      await refreshEventDates(trx, show.eventId)
      await insertAudit(trx, audit, scheduleId)
    }),
  )
  // Gone from every copy's lists and seat maps from the next request on.
  await catalog.catalogueChanged(show.eventId, scheduleId)
}
