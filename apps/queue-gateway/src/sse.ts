import type { ServerResponse } from 'node:http'
import type { QueueService, Ticket } from '@concert/queue'
import type { FastifyBaseLogger } from 'fastify'

const HEARTBEAT_MS = 15_000

/** How often a stream re-reads its ticket: often near the head, rarely far back. */
function refreshMs(ticket: Ticket): number {
  if (ticket.status === 'READY') return 2_000
  // In the pre-queue (no place yet) watch for the draw at opening as if at the head.
  const position = ticket.position ?? 1
  if (position <= 100) return 500
  if (position <= 1_000) return 1_000
  return Math.min(ticket.pollAfterMs, 5_000)
}

const changed = (a: Ticket, b: Ticket) =>
  a.status !== b.status ||
  a.position !== b.position ||
  a.estimatedWaitSeconds !== b.estimatedWaitSeconds ||
  a.queueState !== b.queueState ||
  a.opensAt !== b.opensAt

/**
 * One Server-Sent Events stream of a ticket. Each refresh is a poll (so an
 * open stream keeps a WAITING token alive); an `event: ticket` goes out
 * whenever status, position, ETA or the sale state change, a comment line every 15 s keeps
 * proxies from closing an idle stream, and the stream ends after EXPIRED.
 */
export class TicketStream {
  private refreshTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private last: Ticket
  private sequence = 0
  private closed = false

  constructor(
    private readonly response: ServerResponse,
    first: Ticket,
    private readonly queue: QueueService,
    private readonly log: FastifyBaseLogger,
    private readonly onEnd: () => void,
  ) {
    this.last = first
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    response.write(`retry: ${Math.max(1_000, first.pollAfterMs)}\n\n`)
    this.send(first)
    response.on('close', () => this.end())
    this.heartbeatTimer = setInterval(() => response.write(': heartbeat\n\n'), HEARTBEAT_MS)
    if (first.status === 'EXPIRED') this.end()
    else this.schedule()
  }

  private send(ticket: Ticket): void {
    this.sequence += 1
    this.response.write(`id: ${this.sequence}\nevent: ticket\ndata: ${JSON.stringify(ticket)}\n\n`)
  }

  private schedule(): void {
    if (this.closed) return
    this.refreshTimer = setTimeout(() => void this.refresh(), refreshMs(this.last))
  }

  private async refresh(): Promise<void> {
    try {
      const ticket = await this.queue.get(this.last.token)
      if (this.closed) return
      if (!ticket) return this.end()
      if (changed(this.last, ticket)) this.send(ticket)
      this.last = ticket
      if (ticket.status === 'EXPIRED') return this.end()
    } catch (error) {
      // Keep the stream: a short Redis blip should not drop every fan's connection.
      this.log.warn({ err: error }, 'sse refresh failed')
    }
    this.schedule()
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Ends the stream (client gone, ticket expired, or server shutting down). */
  end(): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.refreshTimer)
    clearInterval(this.heartbeatTimer)
    if (!this.response.writableEnded) this.response.end()
    this.onEnd()
  }
}
