import type { App } from '@concert/http'
import { appEnv, type TestEnv } from '@concert/testing'
import { buildGatewayApp } from '../src/app.js'
import { loadGatewayConfig } from '../src/config.js'

/** A gateway wired to this test file's database and Redis key space. */
export async function buildGateway(
  env: TestEnv,
  overrides: Record<string, string> = {},
  options: { workers?: boolean; poolSize?: number } = {},
): Promise<App> {
  const config = loadGatewayConfig(
    appEnv(env, {
      DB_POOL_SIZE: String(options.poolSize ?? 3),
      ISSUE_RATE_LIMIT_PER_MINUTE: '1000000',
      ...overrides,
    }),
  )
  const app = await buildGatewayApp({ config, logger: false, workers: options.workers ?? false })
  await app.ready()
  return app
}

export { sleep } from '@concert/queue/testing'
export { within } from '@concert/testing'

export function join(app: App, accountId: string, eventId: number) {
  return app.inject({ method: 'POST', url: '/v1/queue/tokens', payload: { accountId, eventId } })
}

export interface SseEvent {
  event?: string
  data?: string
}

/** The events of a text/event-stream response, as they arrive. */
export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  const reader = response.body?.getReader()
  if (!reader) throw new Error('no body')
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event: SseEvent = {}
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event.event = line.slice(7)
          if (line.startsWith('data: ')) event.data = line.slice(6)
        }
        // Comment lines (heartbeats) and the retry hint carry no event.
        if (event.event || event.data) yield event
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}
