import { useEffect, useRef, useState } from 'preact/hooks'
import { serverNow } from './clock'

/**
 * Seconds left until `iso` (never below 0), updated every second; undefined without an
 * instant. Counted on the servers' clock (clock.ts), whose instant it is.
 */
export function useSecondsUntil(iso: string | null | undefined): number | undefined {
  const target = iso ? Date.parse(iso) : Number.NaN
  const compute = () =>
    Number.isNaN(target) ? undefined : Math.max(0, Math.ceil((target - serverNow()) / 1000))
  const [seconds, setSeconds] = useState(compute)
  useEffect(() => {
    setSeconds(compute())
    if (Number.isNaN(target)) return
    const timer = setInterval(() => setSeconds(compute()), 1_000)
    return () => clearInterval(timer)
    // compute reads only `target`.
  }, [target])
  return seconds
}

/** Runs `work` now and then every `intervalMs` while mounted (and `enabled`); the latest `work` is used. */
export function useInterval(work: () => void, intervalMs: number, enabled = true): void {
  const latest = useRef(work)
  latest.current = work
  useEffect(() => {
    if (!enabled) return
    latest.current()
    const timer = setInterval(() => latest.current(), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs, enabled])
}

/** The page title, for screen readers and tabs. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Concert tickets`
  }, [title])
}
