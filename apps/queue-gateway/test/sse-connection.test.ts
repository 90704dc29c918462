import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { freeHttpParser, freeHttpParserNow } from '../src/sse.js'

/*
 * An SSE stream's connection serves that stream only, so the gateway gives back
 * Node's HTTP parser of it (freeHttpParser, ~2 KB a stream). The connection must
 * still behave: whatever the client sends is not parsed, and the client closing
 * its end still closes the response, which is what ends a stream.
 */

let server: Server | undefined

async function listen(on: Server): Promise<number> {
  await new Promise<void>((resolve) => on.listen(0, '127.0.0.1', resolve))
  return (on.address() as AddressInfo).port
}

afterEach(async () => {
  const closing = server
  server = undefined
  if (closing) await new Promise((resolve) => closing.close(resolve))
})

describe('an SSE connection without its HTTP parser', () => {
  it('drops what the client sends, and still closes the response when the client ends', async () => {
    let serverSocket: Socket | undefined
    let freed: boolean | undefined
    let requests = 0
    let closeResponse = () => {}
    const responseClosed = new Promise<void>((resolve) => {
      closeResponse = resolve
    })
    const http = createServer((request, response) => {
      requests += 1
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write(': open\n\n')
      serverSocket = request.socket
      // Like the route: a turn of the event loop after the request (never inside the parser's callbacks).
      setImmediate(() => {
        freed = freeHttpParserNow(request.socket)
      })
      response.on('close', () => closeResponse())
    })
    server = http
    const port = await listen(http)

    const client = connect(port, '127.0.0.1')
    let received = ''
    const opened = new Promise<void>((resolve) =>
      client.on('data', (chunk) => {
        received += chunk.toString()
        if (received.includes(': open')) resolve()
      }),
    )
    client.write('GET /stream HTTP/1.1\r\nHost: test\r\n\r\n')
    await opened
    await new Promise((resolve) => setImmediate(resolve))
    expect(freed).toBe(true)
    expect((serverSocket as unknown as { parser: unknown }).parser).toBeNull()

    // A second request (or anything else) on the stream's connection is not answered.
    client.write('GET /other HTTP/1.1\r\nHost: test\r\n\r\nnot even HTTP\r\n')
    client.end()
    await responseClosed
    expect(requests).toBe(1)
    expect(received).not.toContain('HTTP/1.1 400')
  })

  it('is left alone when the connection closed before its turn came', async () => {
    let closedSocket = (_socket: Socket) => {}
    const closed = new Promise<Socket>((resolve) => {
      closedSocket = resolve
    })
    const http = createServer((request) => {
      freeHttpParser(request.socket)
      request.socket.on('close', () => closedSocket(request.socket))
      request.socket.destroy()
    })
    server = http
    const port = await listen(http)
    const client = connect(port, '127.0.0.1')
    client.on('error', () => {})
    client.write('GET /stream HTTP/1.1\r\nHost: test\r\n\r\n')
    const socket = await closed
    await new Promise((resolve) => setImmediate(resolve))
    expect(freeHttpParserNow(socket)).toBe(false)
  })
})
