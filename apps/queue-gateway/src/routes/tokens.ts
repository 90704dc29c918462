import type { ServerResponse } from 'node:http'
import { type App, accountIdInBody, LOCATION_HEADER, problemResponses, success } from '@concert/http'
import { AppError } from '@concert/shared'
import { Type } from 'typebox'
import { JoinBody, TicketSchema, TokenParams } from '../schemas.js'
import { freeHttpParser, TicketStream } from '../sse.js'

export interface TokenRoutesOptions {
  /** Token requests allowed per client IP (`max`) per `timeWindow` ms. */
  issueRateLimit: { max: number; timeWindow: number }
}

/**
 * Fastify follows every response until it finishes, to run the onResponse hooks:
 * one listener on the raw response's 'finish' and 'error' that keeps the request,
 * the reply and the request's child logger alive (~1 KB). An SSE stream stays open
 * for as long as the fan waits, by the tens of thousands per copy, so the route lets
 * go of them once it hijacked the reply, and the hub does what onResponse would have
 * done when the stream ends (the closing log line and the latency series, sse-hub.ts).
 * Fastify's listener is the one function on both events; Node's own are left alone.
 */
function detachFromFastify(response: ServerResponse): void {
  const onError = response.listeners('error')
  for (const listener of response.listeners('finish')) {
    if (!onError.includes(listener)) continue
    response.removeListener('finish', listener as () => void)
    response.removeListener('error', listener as () => void)
  }
  // An 'error' without a listener would be thrown; the stream ends on 'close' anyway.
  response.on('error', ignore)
}

function ignore(): void {}

/** The queue's public API: join, poll, stream, leave (SPEC §3, queue-gateway). */
export async function tokenRoutes(app: App, options: TokenRoutesOptions): Promise<void> {
  app.addSchema(TicketSchema)
  const hub = app.sseHub

  app.post(
    '/v1/queue/tokens',
    {
      config: { account: accountIdInBody, rateLimit: options.issueRateLimit },
      schema: {
        tags: ['queue'],
        operationId: 'joinQueue',
        summary: 'Join an event’s queue',
        description:
          'Issues a queue token for (accountId, eventId). Joining again returns the same live ticket (200), ' +
          'so nobody gains places by joining many times.',
        body: JoinBody,
        response: {
          200: success(
            'The account’s live ticket for this event: joining again changes nothing',
            Type.Ref('Ticket'),
          ),
          201: success('A new ticket, WAITING at the back of the queue', Type.Ref('Ticket'), {
            Location: LOCATION_HEADER,
          }),
          ...problemResponses('EVENT_NOT_FOUND', 'ACCOUNT_NOT_FOUND', 'RATE_LIMITED'),
        },
      },
    },
    async (request, reply) => {
      const { accountId, eventId } = request.body
      const [eventExists, accountExists] = await Promise.all([
        app.knownEvents.has(eventId),
        app.knownAccounts.has(accountId),
      ])
      if (!eventExists) throw new AppError('EVENT_NOT_FOUND', `event ${eventId} does not exist`)
      if (!accountExists) throw new AppError('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`)
      const { ticket, created } = await app.queue.join(eventId, accountId)
      if (created) reply.header('location', `/v1/queue/tokens/${ticket.token}`)
      return reply.status(created ? 201 : 200).send(ticket)
    },
  )

  app.get(
    '/v1/queue/tokens/:token',
    {
      schema: {
        tags: ['queue'],
        operationId: 'getTicket',
        summary: 'Poll a ticket',
        description:
          'Position, ETA and status. Polling is the heartbeat of a WAITING token: one not polled for ' +
          '`waitingIdleSeconds` is dropped. EXPIRED tokens answer for at least 10 minutes.',
        params: TokenParams,
        response: {
          200: success('The ticket now; poll again after `pollAfterMs`', Type.Ref('Ticket')),
          ...problemResponses('TOKEN_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const ticket = await hub.poll(request.params.token)
      if (!ticket) throw new AppError('TOKEN_NOT_FOUND', 'no such queue token')
      return ticket
    },
  )

  app.get(
    '/v1/queue/tokens/:token/stream',
    {
      schema: {
        tags: ['queue'],
        operationId: 'streamTicket',
        summary: 'Follow a ticket with Server-Sent Events',
        description:
          'Sends `event: ticket` with the ticket JSON on every change of status, position or ETA, and a ' +
          'comment heartbeat every 15 s. An open stream counts as polling. The stream ends after EXPIRED. ' +
          'A token may have `SSE_STREAMS_PER_TOKEN` streams open at once and a client address ' +
          '`SSE_STREAMS_PER_IP`; past that, 429 with Retry-After (poll instead).',
        params: TokenParams,
        response: {
          200: {
            description: 'text/event-stream of tickets',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...problemResponses('TOKEN_NOT_FOUND', 'RATE_LIMITED'),
        },
      },
    },
    async (request, reply) => {
      const first = await app.queue.follow(request.params.token)
      if (!first) throw new AppError('TOKEN_NOT_FOUND', 'no such queue token')
      const lease = await app.sseLeases.acquire(request.params.token, request.ip)
      reply.hijack()
      const startedAt = performance.now() - reply.elapsedTime
      detachFromFastify(reply.raw)
      freeHttpParser(reply.raw.socket)
      const stream = new TicketStream(reply.raw, first.ticket, hub, lease, request.id, startedAt)
      // A client that hung up while we were getting here sends no 'close' any more: end now.
      if (reply.raw.destroyed) stream.end()
      hub.add(stream, first.state)
    },
  )

  app.delete(
    '/v1/queue/tokens/:token',
    {
      schema: {
        tags: ['queue'],
        operationId: 'leaveQueue',
        summary: 'Leave the queue',
        description:
          'A WAITING token leaves the queue; a READY token gives its slot back at once. Idempotent.',
        params: TokenParams,
        response: {
          204: Type.Null({ description: 'Left (or had already expired)' }),
          ...problemResponses('TOKEN_NOT_FOUND'),
        },
      },
    },
    async (request, reply) => {
      const outcome = await app.queue.leave(request.params.token)
      if (outcome === 'MISSING') throw new AppError('TOKEN_NOT_FOUND', 'no such queue token')
      return reply.status(204).send(null)
    },
  )
}
