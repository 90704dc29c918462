// k6 run docker/k6/flash-crowd.js   (k6 is not installed on the dev machines; see the README's k6 section)
// A flash crowd: setup() opens FANS accounts with money through the booking API; then every
// fan joins the queue at once, follows pollAfterMs until READY, and tries to buy a random
// free seat of the first show (or leaves when none is left). Point it at loopback or your
// own test hosts only:
//   GATEWAY=http://127.0.0.1:3000 BOOKING=http://127.0.0.1:3001 k6 run docker/k6/flash-crowd.js
// The per-IP join limit: the gateway allows ISSUE_RATE_LIMIT_PER_MINUTE (600) joins per client
// address per minute, and from one load generator every fan has the same address, so with
// the defaults most of 2,000 joins would get 429 and the queue_joins_refused threshold fails.
// Each fan sends an X-Forwarded-For of its own (198.18.0.0/15, the benchmark range), which the
// gateway counts only with TRUST_PROXY=1: run the gateway under test with TRUST_PROXY=1
// (compose's k6 profile does, on a gateway copy that publishes no port), or raise
// ISSUE_RATE_LIMIT_PER_MINUTE above FANS. Never TRUST_PROXY=1 on a gateway clients reach
// directly: they could then pick their own address.

import exec from 'k6/execution'
import http from 'k6/http'
import { Counter, Trend } from 'k6/metrics'
import {
  BOOKING,
  clientAddress,
  createFan,
  expectQueueAnswers,
  freeSeats,
  join,
  json,
  leave,
  params,
  pollUntilAdmitted,
} from './lib/api.js'

// 402, 409 and 429 are answers this test expects, not failures (init context: every VU and setup()).
expectQueueAnswers()

const FANS = Number(__ENV.FANS || 2000)

export const options = {
  setupTimeout: '600s',
  scenarios: {
    crowd: {
      executor: 'shared-iterations',
      vus: Number(__ENV.VUS || 500),
      iterations: FANS,
      maxDuration: '15m',
    },
  },
  thresholds: {
    // 402/409/429 are expected answers (expectQueueAnswers); anything else failing is not.
    http_req_failed: ['rate<0.01'],
    queue_joins_refused: [`count<${Math.ceil(FANS * 0.01)}`],
    'http_req_duration{name:POST /v1/queue/tokens}': ['p(95)<2000'],
    'http_req_duration{name:GET /v1/queue/tokens/{token}}': ['p(95)<500'],
  },
}

/** @typedef {import('./lib/api.js').ReserveRequest} ReserveRequest */

const waitToReady = new Trend('queue_wait_to_ready_ms', true)
const sold = new Counter('seats_sold')
const refusedJoins = new Counter('queue_joins_refused')

/** @returns {{ accounts: string[] }} */
export function setup() {
  /** @type {string[]} */
  const accounts = []
  for (let i = 0; i < FANS; i += 1) accounts.push(createFan(`crowd-${i}`, 500_000))
  return { accounts }
}

/** @param {{ accounts: string[] }} data */
export default function (data) {
  const fan = exec.scenario.iterationInTest
  const accountId = data.accounts[fan]
  if (accountId === undefined) return
  const address = clientAddress(fan)
  const ticket = join(accountId, address)
  if (!ticket) {
    refusedJoins.add(1)
    return
  }
  const started = Date.now()
  const admitted = pollUntilAdmitted(ticket, address)
  if (admitted.status !== 'READY') return
  waitToReady.add(Date.now() - started)

  const seats = freeSeats(admitted.token)
  const seatId = seats?.freeSeatIds[Math.floor(Math.random() * seats.freeSeatIds.length)]
  if (!seats || seatId === undefined) {
    leave(admitted.token, address)
    return
  }
  const bought = http.post(
    `${BOOKING}/v1/reservations`,
    json(/** @satisfies {ReserveRequest} */ ({ scheduleId: seats.scheduleId, seatId })),
    params('POST /v1/reservations', { authorization: `Bearer ${admitted.token}` }),
  )
  if (bought.status === 201) sold.add(1)
  else leave(admitted.token, address)
}
