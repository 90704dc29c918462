import { LRUCache } from 'lru-cache'
import { DateTime } from 'luxon'

/*
 * Show times are the venue's local time (SPEC §7): a show's date and start time are
 * wall-clock values in its venue's IANA zone. Turning them into instants is luxon's job
 * (zone rules, DST gaps), not hand-written offset arithmetic.
 */

export interface ShowTime {
  /** 'YYYY-MM-DD' in the venue's zone */
  date: string
  /** 'HH:MM:SS' in the venue's zone */
  startTime: string
  /** IANA zone of the venue */
  timeZone: string
}

/**
 * The canonical name Intl knows `zone` by ('asia/seoul' → 'Asia/Seoul'), or undefined
 * when it is not an IANA zone. Fixed offsets ('+09:00') are refused: a venue's clock
 * follows its zone's rules, summer time included.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return undefined
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone
    return /^[+-]/.test(resolved) ? undefined : resolved
  } catch {
    return undefined
  }
}

/**
 * The instant a show starts. A start time that a summer-time change skips (02:30 on
 * the night clocks jump from 02:00 to 03:00) is moved forward by the gap (03:30), as
 * JavaScript dates and Temporal do; a time that occurs twice is the first of the two.
 */
export function showStartsAt(show: ShowTime): Date {
  // Zone rules are fixed for the life of the process: each show's instant is worked out once
  // (every seat map, dates list and purchase asks; luxon's zone arithmetic is not cheap).
  const id = `${show.date}T${show.startTime} ${show.timeZone}`
  let at = startInstants.get(id)
  if (at === undefined) {
    at = computeShowStart(show)
    startInstants.set(id, at)
  }
  return new Date(at)
}

/** Show start instants by date, time and zone; the least recently asked go past the bound. */
const startInstants = new LRUCache<string, number>({ max: 100_000 })

function computeShowStart(show: ShowTime): number {
  const start = DateTime.fromISO(`${show.date}T${show.startTime}`, { zone: show.timeZone })
  if (!start.isValid) {
    throw new Error(`show time ${show.date} ${show.startTime} ${show.timeZone}: ${start.invalidExplanation}`)
  }
  // On the night clocks fall back the wall time happens twice: the first one counts,
  // so a show never sells past its real start.
  const candidates = [start, ...start.getPossibleOffsets()].map((at) => at.toMillis())
  return Math.min(...candidates)
}

/** 'YYYY-MM-DD' of `now` in `timeZone`. */
export function localDate(timeZone: string, now: Date = new Date()): string {
  return DateTime.fromJSDate(now, { zone: timeZone }).toISODate() ?? now.toISOString().slice(0, 10)
}

/**
 * The calendar date in the world's westernmost zone (UTC−12): no show dated before it
 * can still be ahead anywhere, so queries may skip those rows before the exact check.
 */
export function earliestLocalDate(now: Date = new Date()): string {
  return localDate('Etc/GMT+12', now)
}
