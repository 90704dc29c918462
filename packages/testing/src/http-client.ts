import type { AddressInfo } from 'node:net'

/*
 * Real-socket helpers for tests that drive the apps over HTTP (journeys, the
 * client, browser stacks): no runner ties, so scripts may use them too.
 */

interface Listenable {
  listen(options: { port: number; host: string }): Promise<unknown>
  server: { address(): AddressInfo | string | null }
}

/** Starts an app on a free loopback port; its base URL. */
export async function listenOnLoopback(app: Listenable, port = 0): Promise<string> {
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('the app is not listening on a port')
  return `http://127.0.0.1:${address.port}`
}

/** One JSON request; the status and the parsed body (undefined when empty). */
export async function callJson(method: string, url: string, body?: unknown, bearer?: string) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}
