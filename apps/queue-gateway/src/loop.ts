import type { FastifyBaseLogger } from 'fastify'

/** Told how long each tick took and whether it failed (the loop's metrics). */
export type TickObserver = (seconds: number, failed: boolean) => void

/**
 * Runs `tick` every `intervalMs` (measured from the end of the previous tick,
 * so ticks never overlap). Errors are logged once per streak, not per tick,
 * so a Redis outage does not flood the log ten times a second.
 */
export class Loop {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = true
  private failing = false
  private kicked = false

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly log: FastifyBaseLogger,
    private readonly observe: TickObserver = () => {},
  ) {}

  /** Starts ticking, the first tick after `firstDelayMs` (at once by default). */
  start(firstDelayMs = 0): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(firstDelayMs)
  }

  private schedule(delay: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined
        const again = this.kicked
        this.kicked = false
        this.schedule(again ? 0 : this.intervalMs)
      })
    }, delay)
  }

  /** Runs the next tick now rather than after the interval (right after the one in progress, if any). */
  kick(): void {
    if (this.stopped) return
    if (this.running) {
      this.kicked = true
      return
    }
    clearTimeout(this.timer)
    this.schedule(0)
  }

  private async run(): Promise<void> {
    const started = performance.now()
    try {
      await this.tick()
      if (this.failing) this.log.info({ loop: this.name }, 'loop recovered')
      this.failing = false
    } catch (error) {
      if (!this.failing) this.log.error({ err: error, loop: this.name }, 'loop tick failed')
      this.failing = true
    }
    this.observe((performance.now() - started) / 1000, this.failing)
  }

  /** Stops scheduling and waits for a tick in progress. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }
}

/**
 * A tick's work for each event, each apart: an event whose work fails (a damaged key,
 * a refused write) is logged once per streak of failures and the other events go on,
 * where one failing event early in the list used to stop the tick for every event after
 * it, on every copy. The tick still fails, with the first error, so the loop's failure
 * metric shows it.
 */
export class EachEvent {
  private readonly failing = new Set<number>()

  constructor(
    private readonly name: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async run(eventIds: readonly number[], work: (eventId: number) => Promise<void>): Promise<void> {
    let firstError: unknown
    let failed = false
    for (const eventId of this.failing) if (!eventIds.includes(eventId)) this.failing.delete(eventId)
    for (const eventId of eventIds) {
      try {
        await work(eventId)
        if (this.failing.delete(eventId)) this.log.info({ loop: this.name, eventId }, 'event recovered')
      } catch (error) {
        if (!this.failing.has(eventId))
          this.log.error({ err: error, loop: this.name, eventId }, 'event failed')
        this.failing.add(eventId)
        if (!failed) firstError = error
        failed = true
      }
    }
    if (failed) throw firstError
  }
}
