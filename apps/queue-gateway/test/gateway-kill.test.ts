import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { App } from '@concert/http'
import { eventKeys } from '@concert/queue'
import {
  appEnv,
  createEvent,
  freePort,
  holdEpochRow,
  insertAccounts,
  seedCatalog,
  stopProcesses,
  useTestEnv,
  waitFor,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, sleep } from './helpers.js'
import { accountsWithTwoLiveTokens, mirrorDifferences, redisTokens, tokenRows } from './queue-state.js'

/*
 * Two gateway copies share the queue: one a real child process (server.ts, as
 * deployed), one in this process. Fans join, poll and leave through both; in the
 * middle of the burst the child is killed with SIGKILL, holding mirror entries it
 * had read from the stream but not yet written to MySQL. The surviving copy takes
 * them over (MIRROR_CLAIM_IDLE_MS, default 5 s): within 10 s of the kill every
 * token in Redis equals its QUEUE_TOKEN row and every row has its token.
 */

// A Redis of our own: nobody else's load slows the copies, and every key is ours to inspect.
const env = useTestEnv({ privateRedis: true })

const ACCOUNTS = 2_000
const WORKERS = 24
const BURST_BEFORE_KILL_MS = 1_500
const BURST_AFTER_KILL_MS = 2_000
const CONVERGE_WITHIN_MS = 10_000

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url))

let eventId: number
let accounts: string[]
let child: ChildProcess
let childOutput = ''
let childUrl: string
let inProcess: App

/** Settings both copies share: admission keeps moving fans to READY during the burst. */
const settings = {
  QUEUE_MAX_ACTIVE: '150',
  QUEUE_ADMIT_PER_SECOND: '300',
  QUEUE_ACTIVE_TTL_SECONDS: '600',
  QUEUE_ADMIT_INTERVAL_MS: '50',
  ISSUE_RATE_LIMIT_PER_MINUTE: '1000000',
  DB_POOL_SIZE: '3',
}

beforeAll(async () => {
  await seedCatalog(env.db)
  eventId = await createEvent(env.db, 'gateway kill')
  accounts = await insertAccounts(env.db, ACCOUNTS, { prefix: 'kill' })

  const port = await freePort()
  childUrl = `http://127.0.0.1:${port}`
  // server.ts reads GATEWAY_PORT and HOST; workers (admission, mirror) run by default.
  child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', serverEntry], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      ...appEnv(env, { ...settings, GATEWAY_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const keep = (chunk: Buffer) => {
    childOutput = (childOutput + chunk.toString()).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('child exited')
        return (await fetch(`${childUrl}/health/ready`)).status === 200
      },
      `gateway child on ${port} ready`,
      45_000,
    )
  } catch (error) {
    throw new Error(`${String(error)}; child output:\n${childOutput}`)
  }
  inProcess = await buildGateway(env, settings, { workers: true })
}, 90_000)

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) await stopProcesses([child], 'SIGKILL')
  await inProcess?.close()
})

interface Answer {
  target: 'child' | 'in-process'
  op: 'join' | 'poll' | 'leave'
  /** HTTP status, or 0 when the connection failed (the child died with the request in flight). */
  status: number
  contentType?: string
  retryAfter?: string
}

interface Sent {
  status: number
  contentType?: string
  retryAfter?: string
  json?: { token?: string }
}

/** One request to the child over real HTTP, or to the in-process copy. */
async function send(
  target: Answer['target'],
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<Sent> {
  if (target === 'in-process') {
    const response = await inProcess.inject({ method, url, ...(payload ? { payload } : {}) })
    return {
      status: response.statusCode,
      contentType: response.headers['content-type'] as string | undefined,
      retryAfter: response.headers['retry-after'] as string | undefined,
      json: response.statusCode === 204 ? undefined : response.json(),
    }
  }
  const response = await fetch(`${childUrl}${url}`, {
    method,
    ...(payload ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) } : {}),
  })
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? undefined,
    retryAfter: response.headers.get('retry-after') ?? undefined,
    json: response.status === 204 ? undefined : ((await response.json()) as Sent['json']),
  }
}

/**
 * The mirror group's consumers of `consumerPid`'s copy, each with its count of entries
 * handed to it and not acknowledged. Consumer names are `<host>-<pid>-<6-character
 * nanoid>` (plugins/queue.ts).
 */
async function consumersOf(stream: string, consumerPid: number): Promise<Array<[string, string]>> {
  const [, , , consumers] = (await env.redis.xpending(stream, 'mirror')) as [
    number,
    string | null,
    string | null,
    Array<[string, string]> | null,
  ]
  const ofPid = new RegExp(`-${consumerPid}-[A-Za-z0-9_-]{6}$`)
  return (consumers ?? []).filter(([name]) => ofPid.test(name))
}

/** Mirror entries the stream's group has handed to `consumerPid`'s copy and not had acknowledged. */
async function pendingOf(stream: string, consumerPid: number): Promise<number> {
  return (await consumersOf(stream, consumerPid)).reduce((sum, [, count]) => sum + Number(count), 0)
}

/**
 * Whether `consumerPid`'s copy holds a live entry it read ≥ 300 ms ago: a batch stuck
 * inside its transaction. A pending count alone is not enough: an entry a join's own
 * write has deleted meanwhile is read back empty and acknowledged at once, so the
 * count can be above 0 for a moment and 0 again by the time the copy is killed.
 */
async function holdsStuckEntry(stream: string, consumerPid: number): Promise<boolean> {
  for (const [name] of await consumersOf(stream, consumerPid)) {
    const idle = (await env.redis.call(
      'XPENDING',
      stream,
      'mirror',
      'IDLE',
      300,
      '-',
      '+',
      100,
      name,
    )) as Array<[string, string, number, number]>
    for (const [id] of idle) {
      if (((await env.redis.xrange(stream, id, id)) as unknown[]).length > 0) return true
    }
  }
  return false
}

describe('kill -9 of one gateway copy mid-burst', () => {
  it('QUEUE_TOKEN equals Redis within 10 s: the survivor takes over the dead copy’s mirror entries', async () => {
    const keys = eventKeys(env.keyPrefix, eventId)
    const childPid = child.pid as number
    const answers: Answer[] = []
    const toJoin = [...accounts]
    /** Tokens the fans hold (answered 201/200), with their accounts. */
    const held: Array<{ token: string; accountId: string }> = []
    let childAlive = true
    let stopAt = Number.POSITIVE_INFINITY
    let seq = 0

    // Each worker loops: join a new fan (half the steps), poll a held token, or
    // leave with one (that fan joins again later); alternating copies while both live.
    async function worker(): Promise<void> {
      while (Date.now() < stopAt) {
        const step = seq++
        const target: Answer['target'] = childAlive && step % 2 === 0 ? 'child' : 'in-process'
        const kind = step % 10
        const joiner = kind < 5 ? toJoin.shift() : undefined
        const op: Answer['op'] = joiner ? 'join' : kind < 9 || held.length < 20 ? 'poll' : 'leave'
        const fan = op === 'join' ? undefined : held[(step * 7919) % held.length]
        if (op !== 'join' && !fan) {
          await sleep(5)
          continue
        }
        if (fan && op === 'leave') held.splice(held.indexOf(fan), 1)
        let sent: Sent
        try {
          sent = fan
            ? await send(target, op === 'poll' ? 'GET' : 'DELETE', `/v1/queue/tokens/${fan.token}`)
            : await send(target, 'POST', '/v1/queue/tokens', { accountId: joiner, eventId })
        } catch (error) {
          if (target !== 'child') throw error
          // The child died with this request in flight: its effect may or may not have
          // happened in Redis. The fan tries again later (a join then gets the same token).
          answers.push({ target, op, status: 0 })
          if (joiner) toJoin.push(joiner)
          if (fan && op === 'leave') held.push(fan)
          continue
        }
        answers.push({
          target,
          op,
          status: sent.status,
          contentType: sent.contentType,
          retryAfter: sent.retryAfter,
        })
        if (joiner && (sent.status === 201 || sent.status === 200)) {
          held.push({ token: sent.json?.token as string, accountId: joiner })
        } else if (joiner) toJoin.push(joiner)
        else if (fan && op === 'leave' && sent.status === 204) toJoin.push(fan.accountId)
      }
    }

    const workers = Array.from({ length: WORKERS }, () => worker())
    try {
      await sleep(BURST_BEFORE_KILL_MS)

      // Kill the child while it holds mirror entries: hold the event's QUEUE_EPOCH row
      // so every mirror batch waits inside its transaction, wait until the child has
      // read a batch from the stream, SIGKILL it, then let MySQL go on.
      let pendingAtKill = 0
      const held = await holdEpochRow(env, eventId)
      try {
        await waitFor(() => holdsStuckEntry(keys.stream, childPid), 'child holds mirror entries', 5_000)
        childAlive = false
        await stopProcesses([child], 'SIGKILL')
        pendingAtKill = await pendingOf(keys.stream, childPid)
      } finally {
        await held.release()
      }
      const killedAt = Date.now()
      expect(pendingAtKill).toBeGreaterThan(0)

      stopAt = killedAt + BURST_AFTER_KILL_MS
      await Promise.all(workers)

      // Converge: at most 10 s after the kill the stores agree and the stream is empty,
      // every entry (the dead copy's too) mirrored and acknowledged. Agreement alone can
      // come sooner: a token's later change, mirrored by the survivor, overtakes the
      // entry the child held, which is still pending until the survivor claims it.
      let differences: string[] = ['not compared yet']
      let unmirrored = -1
      let convergedMs = -1
      while (Date.now() - killedAt <= CONVERGE_WITHIN_MS) {
        unmirrored = await env.redis.xlen(keys.stream)
        differences = mirrorDifferences(
          await redisTokens(env.redis, env.keyPrefix, eventId),
          await tokenRows(env.db, eventId),
        )
        if (differences.length === 0 && unmirrored === 0) {
          convergedMs = Date.now() - killedAt
          break
        }
        await sleep(200)
      }
      expect(differences).toEqual([])
      expect(unmirrored).toBe(0)
      expect(convergedMs).toBeGreaterThanOrEqual(0)
      expect(convergedMs).toBeLessThanOrEqual(CONVERGE_WITHIN_MS)
      // The dead copy's entries were taken over and acknowledged by the survivor.
      expect(await pendingOf(keys.stream, childPid)).toBe(0)
      const states = await redisTokens(env.redis, env.keyPrefix, eventId)
      expect(accountsWithTwoLiveTokens(states)).toEqual({})

      // Both copies really served the burst, and it changed tokens every way.
      expect(
        answers.filter((a) => a.target === 'child' && a.op === 'join' && a.status === 201).length,
      ).toBeGreaterThan(0)
      expect(new Set(states.map((s) => s.status))).toEqual(new Set(['WAITING', 'READY', 'EXPIRED']))
      expect(states.some((s) => s.reason === 'LEFT')).toBe(true)

      // Nothing but the dead child's unanswered requests failed; no 5xx but 503 (problem+json, Retry-After).
      const expected = { join: [200, 201, 503], poll: [200, 503], leave: [204, 503] }
      const wrong = answers.filter(
        (a) => !(a.status === 0 && a.target === 'child') && !expected[a.op].includes(a.status),
      )
      expect(wrong).toEqual([])
      for (const a of answers.filter((x) => x.status === 503)) {
        expect(a.contentType).toMatch(/^application\/problem\+json/)
        expect(a.retryAfter).toMatch(/^[1-9][0-9]*$/)
      }

      console.info(
        `gateway-kill: ${answers.length} requests (${answers.filter((a) => a.target === 'child').length} to the child, ` +
          `${answers.filter((a) => a.status === 0).length} lost with it); ${states.length} tokens; ` +
          `child held ${pendingAtKill} mirror entries at the kill; Redis = QUEUE_TOKEN and the stream empty ${convergedMs} ms after it`,
      )
    } finally {
      stopAt = 0
      await Promise.allSettled(workers)
    }
  }, 90_000)
})
