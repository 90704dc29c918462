import type { ServerResponse } from 'node:http'
import { EventFeed, type FeedFollower, type QueueService, type Ticket, type TokenState } from '@concert/queue'
import type { FastifyBaseLogger } from 'fastify'

const HEARTBEAT_MS = 15_000

/** How often a stream sends a changed position or ETA: often near the head, rarely far back. */
function refreshMs(ticket: Ticket): number {
  if (ticket.status === 'READY') return 2_000
  // In the pre-queue (no place yet) watch for the draw at opening as if at the head.
  const position = ticket.position ?? 1
  if (position <= 100) return 500
  if (position <= 1_000) return 1_000
  return Math.min(ticket.pollAfterMs, 5_000)
}

/** What a stream remembers of the last ticket it sent: only what decides whether to send the next. */
type Seen = Pick<Ticket, 'status' | 'position' | 'estimatedWaitSeconds' | 'queueState' | 'opensAt'>

const changed = (a: Seen, b: Ticket) =>
  a.status !== b.status ||
  a.position !== b.position ||
  a.estimatedWaitSeconds !== b.estimatedWaitSeconds ||
  a.queueState !== b.queueState ||
  a.opensAt !== b.opensAt

// Small on purpose: with tens of thousands of streams per copy, every field counts.
const seen = (t: Ticket): Seen => ({
  status: t.status,
  position: t.position,
  estimatedWaitSeconds: t.estimatedWaitSeconds,
  queueState: t.queueState,
  opensAt: t.opensAt,
})

/**
 * One Server-Sent Events stream of a ticket. It holds no timer and reads
 * nothing itself: the hub's feed of its event hands it the ticket a poll would
 * answer every tick (and the feed's heartbeats keep a WAITING token alive). An
 * `event: ticket` goes out when status, position, ETA or the sale state change
 * (a status change at once, the rest at most every `refreshMs`), a comment line
 * every 15 s keeps proxies from closing an idle stream, and the stream ends after EXPIRED.
 */
export class TicketStream implements FeedFollower {
  readonly token: string
  private last: Seen
  private dueAt: number
  private sequence = 0
  private closed = false

  constructor(
    private readonly response: ServerResponse,
    first: Ticket,
    private readonly onEnd: () => void,
  ) {
    this.token = first.token
    this.last = seen(first)
    this.dueAt = Date.now() + refreshMs(first)
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    response.write(`retry: ${Math.max(1_000, first.pollAfterMs)}\n\n`)
    this.send(first)
    response.on('close', () => this.end())
    if (first.status === 'EXPIRED') this.end()
  }

  private send(ticket: Ticket): void {
    this.sequence += 1
    this.response.write(`id: ${this.sequence}\nevent: ticket\ndata: ${JSON.stringify(ticket)}\n\n`)
  }

  deliver(ticket: Ticket, statusRead: boolean): void {
    if (this.closed) return
    const now = Date.now()
    const statusChanged = statusRead || ticket.status !== this.last.status
    if (!statusChanged && now < this.dueAt) return
    if (changed(this.last, ticket)) this.send(ticket)
    this.last = seen(ticket)
    this.dueAt = now + refreshMs(ticket)
    if (ticket.status === 'EXPIRED') this.end()
  }

  due(now: number): boolean {
    return now >= this.dueAt
  }

  gone(): void {
    this.end()
  }

  heartbeat(): void {
    if (!this.closed) this.response.write(': heartbeat\n\n')
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Ends the stream (client gone, ticket expired, or server shutting down). */
  end(): void {
    if (this.closed) return
    this.closed = true
    if (!this.response.writableEnded) this.response.end()
    this.onEnd()
  }
}

/**
 * Every open stream of this gateway copy, grouped by event: one timer reads each
 * event's feed once per tick and hands each stream its ticket, and one timer
 * sends the keep-alive comments. Redis work grows with the events being
 * followed, not with the streams (see EventFeed in @concert/queue).
 */
export class SseHub {
  private readonly feeds = new Map<number, EventFeed>()
  private readonly streams = new Map<TicketStream, EventFeed>()
  private readonly failing = new Set<number>()
  private readonly heartbeatTimer: NodeJS.Timeout
  private tickTimer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private closed = false

  constructor(
    private readonly queue: QueueService,
    private readonly log: FastifyBaseLogger,
    /** How often each event's feed is read (SSE_TICK_MS). */
    private readonly tickMs: number,
  ) {
    this.heartbeatTimer = setInterval(() => {
      for (const stream of this.streams.keys()) stream.heartbeat()
    }, HEARTBEAT_MS)
    this.schedule()
  }

  /** Follows an open stream of a token whose state was just read. */
  add(stream: TicketStream, state: TokenState): void {
    if (this.closed || stream.isClosed) return
    let feed = this.feeds.get(state.eventId)
    if (!feed) {
      feed = new EventFeed(this.queue, state.eventId, {
        onError: (error) => this.log.warn({ err: error }, 'sse status read failed'),
      })
      this.feeds.set(state.eventId, feed)
    }
    feed.add(stream, state)
    this.streams.set(stream, feed)
  }

  remove(stream: TicketStream): void {
    const feed = this.streams.get(stream)
    if (!feed) return
    this.streams.delete(stream)
    feed.remove(stream)
    if (feed.size === 0) this.feeds.delete(feed.eventId)
  }

  get open(): number {
    return this.streams.size
  }

  private schedule(): void {
    if (this.closed) return
    this.tickTimer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined
        this.schedule()
      })
    }, this.tickMs)
  }

  /** One read of every followed event's feed (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    await Promise.all(
      [...this.feeds.values()].map(async (feed) => {
        try {
          await feed.tick()
          if (this.failing.delete(feed.eventId))
            this.log.info({ eventId: feed.eventId }, 'sse feed recovered')
        } catch (error) {
          // Keep the streams: a short Redis blip should not drop every fan's connection. Logged once per streak.
          if (!this.failing.has(feed.eventId))
            this.log.warn({ err: error, eventId: feed.eventId }, 'sse feed read failed')
          this.failing.add(feed.eventId)
        }
      }),
    )
  }

  /** Ends every stream and stops the timers (app closing). */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.tickTimer)
    clearInterval(this.heartbeatTimer)
    for (const stream of [...this.streams.keys()]) stream.end()
    await this.ticking
  }
}
