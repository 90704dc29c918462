/**
 * A light SSE client in its own process (so its sockets count against its own
 * file limit, not the bench's): opens one stream per token given on stdin (one per
 * line) to GATEWAY_URL, counts a stream open once its first `event: ticket` arrived,
 * prints `{"open":n,"failed":m}` once every stream answered, and keeps them open
 * until SIGTERM.
 */
import { Agent, request } from 'node:http'

const gateway = new URL(process.env.GATEWAY_URL ?? '')
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
const OPENING_AT_ONCE = 200

let input = ''
for await (const chunk of process.stdin) input += chunk
const tokens = input.split('\n').filter(Boolean)

let open = 0
let failed = 0
/** Why streams failed: an HTTP status or an error code, with counts. */
const reasons: Record<string, number> = {}
function openStream(token: string): Promise<void> {
  return new Promise((done) => {
    let settled = false
    const resolve = (ok: boolean, reason = '') => {
      if (settled) return
      settled = true
      if (ok) open += 1
      else {
        failed += 1
        reasons[reason] = (reasons[reason] ?? 0) + 1
      }
      done()
    }
    const req = request(
      { host: gateway.hostname, port: gateway.port, path: `/v1/queue/tokens/${token}/stream`, agent },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          resolve(false, `HTTP ${res.statusCode}`)
          return
        }
        res.on('close', () => resolve(false, 'closed before the first event'))
        let seen = ''
        const onData = (chunk: Buffer) => {
          seen += chunk.toString()
          if (seen.includes('event: ticket')) {
            res.off('data', onData)
            res.on('data', () => {})
            resolve(true)
          }
        }
        res.on('data', onData)
      },
    )
    req.on('error', (error: NodeJS.ErrnoException) => resolve(false, error.code ?? error.message))
    req.end()
  })
}

let next = 0
await Promise.all(
  Array.from({ length: Math.min(OPENING_AT_ONCE, tokens.length) }, async () => {
    while (next < tokens.length) {
      const token = tokens[next] as string
      next += 1
      await openStream(token)
    }
  }),
)
process.stdout.write(`${JSON.stringify({ open, failed, reasons })}\n`)
process.on('SIGTERM', () => process.exit(0))
setInterval(() => {}, 60_000)
