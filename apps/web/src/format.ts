const won = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 })

/** ₩143,000 */
export function formatWon(amount: number): string {
  return won.format(amount)
}

/** 65 → "1:05", 3725 → "1:02:05" */
export function formatClock(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds))
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = String(seconds % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** An ETA in words: "less than a minute", "about 3 minutes", "about 2 hours". */
export function formatWait(seconds: number): string {
  if (seconds < 60) return seconds <= 5 ? 'a few seconds' : `about ${Math.round(seconds / 5) * 5} seconds`
  const minutes = Math.round(seconds / 60)
  if (minutes < 90) return minutes === 1 ? 'about a minute' : `about ${minutes} minutes`
  return `about ${Math.round(minutes / 60)} hours`
}

/** "2026-12-24" → "Thu, Dec 24, 2026" (the show's own calendar date, no time zone shift). */
export function formatDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number)
  return new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1)).toLocaleDateString('en-US', {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    year: 'numeric',
    timeZone: 'UTC',
  })
}

/** "19:00:00" → "19:00" (venue local time, SPEC §7). */
export function formatTime(time: string): string {
  return time.slice(0, 5)
}

/** An instant in the fan's own time zone: "Nov 25, 19:30". */
export function formatInstant(iso: string): string {
  return new Date(iso).toLocaleString('en-US', {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
}
