import type { ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { REQUEST_ID_HEADER } from '@concert/http'
import {
  EventFeed,
  eventOfToken,
  type FeedFollower,
  type QueueService,
  type SseLease,
  type Ticket,
  type TokenState,
} from '@concert/queue'
import type { FastifyBaseLogger } from 'fastify'

const HEARTBEAT_MS = 15_000

const SSE_FEED = { failed: 'sse feed read failed', recovered: 'sse feed recovered' }
const POLL_FEED = {
  failed: 'poll feed read failed; polls use the poll script',
  recovered: 'poll feed recovered',
}

/** Polled tokens this copy follows at most, over all events (~350 B each). */
const MAX_POLLED = 200_000
/** How often the hub lets go of polled tokens not polled within their event's idle window. */
const FORGET_EVERY_MS = 5_000

/** How often a stream sends a changed position or ETA: often near the head, rarely far back. */
function refreshMs(ticket: Ticket): number {
  if (ticket.status === 'READY') return 2_000
  // In the pre-queue (no place yet) watch for the draw at opening as if at the head.
  const position = ticket.position ?? 1
  if (position <= 100) return 500
  if (position <= 1_000) return 1_000
  return Math.min(ticket.pollAfterMs, 5_000)
}

/**
 * One Server-Sent Events stream of a ticket. It holds no timer and reads
 * nothing itself: the hub's feed of its event hands it the ticket a poll would
 * answer every tick (and the feed's heartbeats keep a WAITING token alive). An
 * `event: ticket` goes out when status, position, ETA or the sale state change
 * (a status change at once, the rest at most every `refreshMs`), a comment line
 * every 15 s keeps proxies from closing an idle stream, and the stream ends after EXPIRED.
 *
 * Tens of thousands of these stay open on one copy, so each is kept small: it
 * remembers only what decides whether to send the next ticket (in its own fields,
 * not a copy of the ticket), and references nothing of the request that opened it
 * besides the raw response (see `detachFromFastify` in routes/tokens.ts).
 */
export class TicketStream implements FeedFollower {
  readonly token: string
  // Set by remember(), first from the constructor.
  private status!: Ticket['status']
  private position!: Ticket['position']
  private estimatedWaitSeconds!: Ticket['estimatedWaitSeconds']
  private queueState!: Ticket['queueState']
  private opensAt!: Ticket['opensAt']
  private dueAt: number
  private sequence = 0
  private closed = false

  constructor(
    private readonly response: ServerResponse,
    first: Ticket,
    /** Told once, when the stream ends (one object for every stream, not a closure each). */
    private readonly owner: StreamOwner,
    /** The stream's places under the SSE caps, given back when it ends. */
    private readonly lease: SseLease,
    /** The request's id and start (performance.now()), for its closing log line and latency series. */
    readonly requestId: string,
    readonly startedAt: number,
  ) {
    this.token = first.token
    this.remember(first)
    this.dueAt = Date.now() + refreshMs(first)
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      [REQUEST_ID_HEADER]: requestId,
    })
    response.write(`retry: ${Math.max(1_000, first.pollAfterMs)}\n\n`)
    flattenSentHeader(response)
    this.send(first)
    response.on('close', () => this.end())
    if (first.status === 'EXPIRED') this.end()
  }

  private send(ticket: Ticket): void {
    this.sequence += 1
    this.response.write(`id: ${this.sequence}\nevent: ticket\ndata: ${JSON.stringify(ticket)}\n\n`)
  }

  /** What decides whether the next ticket is sent: the fields changed() compares. */
  private remember(ticket: Ticket): void {
    this.status = ticket.status
    this.position = ticket.position
    this.estimatedWaitSeconds = ticket.estimatedWaitSeconds
    this.queueState = ticket.queueState
    this.opensAt = ticket.opensAt
  }

  private changed(ticket: Ticket): boolean {
    return (
      this.status !== ticket.status ||
      this.position !== ticket.position ||
      this.estimatedWaitSeconds !== ticket.estimatedWaitSeconds ||
      this.queueState !== ticket.queueState ||
      this.opensAt !== ticket.opensAt
    )
  }

  deliver(ticket: Ticket, statusRead: boolean): void {
    if (this.closed) return
    const now = Date.now()
    const statusChanged = statusRead || ticket.status !== this.status
    if (!statusChanged && now < this.dueAt) return
    if (this.changed(ticket)) this.send(ticket)
    this.remember(ticket)
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

  /** Ends the stream (client gone, ticket expired, or server shutting down), and its connection. */
  end(): void {
    if (this.closed) return
    this.closed = true
    // The connection served this stream only (freeHttpParser): it closes with it.
    const socket = this.response.socket
    if (!this.response.writableEnded) this.response.end()
    socket?.end()
    this.lease.release()
    this.owner.ended(this)
  }
}

/** Who hears of a stream's end: the hub (it stops feeding it) and the route (its closing log line). */
export interface StreamOwner {
  ended(stream: TicketStream): void
}

const httpCommon: { freeParser?: (parser: unknown, request: null, socket: Socket) => void } = (() => {
  try {
    return createRequire(import.meta.url)('node:_http_common')
  } catch {
    return {}
  }
})()

/** What a client's end of an SSE connection does without Node's HTTP handling: ends ours. */
function endSocket(this: Socket): void {
  this.end()
}

/**
 * An SSE stream has its connection to itself until it ends (the connection then
 * closes, TicketStream.end): no other request is read on it. Node would keep the
 * connection's HTTP parser for a next request all the same, ~2 KB a stream, most of
 * it native. This gives it back the way Node itself does when a connection is
 * upgraded (onParserExecuteCommon in lib/_http_server.js): the socket's 'data' and
 * 'end' listeners, which use the parser, go first; whatever the client still sends
 * is read and dropped, so its end of the connection is still seen and ends ours, and
 * the socket's close still reaches the response ('close': the stream ends). When this
 * Node's internals are not the ones expected, nothing changes.
 *
 * Done on the next turn of the event loop: a parser freed while its own callbacks
 * are still on the stack (a handler answering synchronously) would be put back on
 * the server's list of connections as it unwinds, with no socket.
 */
export function freeHttpParser(socket: Socket | null): void {
  if (socket) setImmediate(freeHttpParserNow, socket)
}

/** freeHttpParser, at once: only from outside the parser's callbacks. Returns whether it did. */
export function freeHttpParserNow(socket: Socket): boolean {
  const parser = (socket as { parser?: unknown }).parser
  if (!parser || socket.destroyed || !httpCommon.freeParser) return false
  const onData = socket.listeners('data').filter((listener) => listener.name === 'bound socketOnData')
  const onEnd = socket.listeners('end').filter((listener) => listener.name === 'bound socketOnEnd')
  const [data] = onData
  const [end] = onEnd
  if (onData.length !== 1 || onEnd.length !== 1 || !data || !end) return false
  socket.removeListener('data', data as () => void)
  socket.removeListener('end', end as () => void)
  socket.on('end', endSocket)
  httpCommon.freeParser(parser, null, socket)
  socket.resume()
  return true
}

/**
 * Node keeps the header block it sent (`_header`) for the whole life of a
 * response, as the rope of ~25 pieces it was concatenated from: ~1 KB per open
 * stream, of which a flat copy takes a quarter. Reading a character makes V8
 * flatten the string in place; the text stays the same.
 */
function flattenSentHeader(response: ServerResponse): void {
  const sent = (response as unknown as { _header?: unknown })._header
  if (typeof sent === 'string') sent.charCodeAt(0)
}

/**
 * Every open stream of this gateway copy, grouped by event: one timer reads each
 * event's feed once per tick and hands each stream its ticket, and one timer
 * sends the keep-alive comments. Redis work grows with the events being
 * followed, not with the streams (see EventFeed in @concert/queue).
 *
 * Polls go through the same feeds (`poll`): a token's first poll on this copy
 * runs the poll script, later ones share one read of the event's feed with every
 * poll that came in meanwhile (one script per batch, plus each polled fan's
 * heartbeat inside it), and each answer is what the poll script would have said
 * at some moment of that read (EventFeed).
 */
export class SseHub implements StreamOwner {
  private readonly feeds = new Map<number, EventFeed>()
  private readonly streams = new Map<TicketStream, EventFeed>()
  private readonly failing = new Set<number>()
  private readonly heartbeatTimer: NodeJS.Timeout
  private tickTimer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private closed = false
  private lastForget = 0
  /** Events whose polls found the feed failing (logged once per streak). */
  private readonly pollsFailing = new Set<number>()

  constructor(
    private readonly queue: QueueService,
    private readonly log: FastifyBaseLogger,
    /** How often each event's feed is read (SSE_TICK_MS). */
    private readonly tickMs: number,
    /** Told of every stream that ended, after the hub let go of it (the request's closing log line). */
    private readonly onEnded: (stream: TicketStream) => void = () => {},
  ) {
    this.heartbeatTimer = setInterval(() => {
      for (const stream of this.streams.keys()) stream.heartbeat()
    }, HEARTBEAT_MS)
    this.schedule()
  }

  private feedOf(eventId: number): EventFeed {
    let feed = this.feeds.get(eventId)
    if (!feed) {
      feed = new EventFeed(this.queue, eventId, {
        onError: (error) => this.log.warn({ err: error }, 'sse status read failed'),
      })
      this.feeds.set(eventId, feed)
    }
    return feed
  }

  /** Follows an open stream of a token whose state was just read. */
  add(stream: TicketStream, state: TokenState): void {
    if (this.closed || stream.isClosed) return
    const feed = this.feedOf(state.eventId)
    feed.add(stream, state)
    this.streams.set(stream, feed)
  }

  remove(stream: TicketStream): void {
    const feed = this.streams.get(stream)
    if (!feed) return
    this.streams.delete(stream)
    feed.remove(stream)
    if (feed.empty) this.feeds.delete(feed.eventId)
  }

  /**
   * A poll (a WAITING fan's heartbeat): answered from the event's feed when this copy
   * follows the token and a read after this call vouches for it, else by the poll
   * script, after which a WAITING token is followed. undefined: no such token.
   */
  async poll(token: string): Promise<Ticket | undefined> {
    const eventId = eventOfToken(token)
    const feed = eventId === undefined ? undefined : this.feeds.get(eventId)
    if (feed && !this.closed) {
      // A failed read is the poll script's to report (503), with its own retry.
      const ticket = await feed.poll(token).then(
        (answer) => {
          this.readOutcome(this.pollsFailing, feed.eventId, POLL_FEED)
          return answer
        },
        (error: unknown) => {
          this.readOutcome(this.pollsFailing, feed.eventId, POLL_FEED, error)
          return undefined
        },
      )
      if (ticket) return ticket
    }
    const read = await this.queue.follow(token)
    if (!read) return undefined
    if (read.state.status === 'WAITING' && !this.closed && this.polledFollowed < MAX_POLLED)
      this.feedOf(read.state.eventId).followPoll(read)
    return read.ticket
  }

  /** A stream ended (TicketStream.end): stop feeding it. */
  ended(stream: TicketStream): void {
    this.remove(stream)
    this.onEnded(stream)
  }

  get open(): number {
    return this.streams.size
  }

  /** A feed read's outcome for the streaks in `failing`: a failure logged once per streak, and the recovery. */
  private readOutcome(
    failing: Set<number>,
    eventId: number,
    messages: { failed: string; recovered: string },
    error?: unknown,
  ): void {
    if (error === undefined) {
      if (failing.delete(eventId)) this.log.info({ eventId }, messages.recovered)
      return
    }
    if (!failing.has(eventId)) this.log.warn({ err: error, eventId }, messages.failed)
    failing.add(eventId)
  }

  /** Polled tokens this copy answers from its feeds. */
  get polledFollowed(): number {
    let count = 0
    for (const feed of this.feeds.values()) count += feed.polledSize
    return count
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
    const now = Date.now()
    // A pass over the polled tokens every few seconds is enough to let go of those polled no more.
    if (now - this.lastForget >= FORGET_EVERY_MS) {
      this.lastForget = now
      for (const feed of this.feeds.values()) {
        feed.forgetQuietPolls(now)
        if (feed.empty) this.feeds.delete(feed.eventId)
      }
    }
    await Promise.all(
      [...this.feeds.values()].map(async (feed) => {
        try {
          await feed.tick()
          this.readOutcome(this.failing, feed.eventId, SSE_FEED)
        } catch (error) {
          // Keep the streams: a short Redis blip should not drop every fan's connection.
          this.readOutcome(this.failing, feed.eventId, SSE_FEED, error)
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
