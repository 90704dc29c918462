import type { Schedule } from '@concert/client'
import { formatDate, formatTime } from '../format'

/** The show dates with seats left; the chosen one is pressed. */
export function DatePicker({
  schedules,
  chosen,
  onChoose,
}: {
  schedules: Schedule[] | undefined
  chosen: number | undefined
  onChoose: (scheduleId: number) => void
}) {
  return (
    <fieldset class="dates">
      <legend>Choose a date</legend>
      {!schedules && <p>Loading dates…</p>}
      {schedules?.length === 0 && <p>No date has seats left.</p>}
      <div class="date-list">
        {schedules?.map((schedule) => (
          <button
            key={schedule.scheduleId}
            type="button"
            class="date"
            aria-pressed={schedule.scheduleId === chosen}
            onClick={() => onChoose(schedule.scheduleId)}
          >
            <span class="date-day">{formatDate(schedule.date)}</span>
            <span>{formatTime(schedule.startTime)}</span>
            <span class="muted">
              {schedule.availableSeats} of {schedule.totalSeats} seats left
            </span>
          </button>
        ))}
      </div>
    </fieldset>
  )
}
