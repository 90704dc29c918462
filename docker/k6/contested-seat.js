// k6 run docker/k6/contested-seat.js   (k6 is not installed on the dev machines; see the README's k6 section)
// Many READY fans fire at the same seat at once: exactly one 201, every other answer a fast
// 409 (SEAT_LOCKED or SEAT_ALREADY_RESERVED), and nobody pays twice. setup() makes the fans
// through the APIs: accounts, money, a join each, and polls until every token is READY.
//   GATEWAY=http://127.0.0.1:3000 BOOKING=http://127.0.0.1:3001 FANS=50 k6 run docker/k6/contested-seat.js
// The per-IP join limit: setup() joins FANS (at most 200) fans from this host's one address
// (no X-Forwarded-For), within the gateway's ISSUE_RATE_LIMIT_PER_MINUTE (600 per address per
// minute) whatever TRUST_PROXY says. Other joins from this host in the same minute count too
// (a rerun, or flash-crowd.js on a gateway without TRUST_PROXY=1): a 429 fails setup() and
// says to raise the limit or wait.

import { check, fail } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import {
  BOOKING,
  createFan,
  expectQueueAnswers,
  freeSeats,
  join,
  json,
  params,
  pollUntilAdmitted,
} from './lib/api.js'

// 402, 409 and 429 are answers this test expects, not failures (init context: every VU and setup()).
expectQueueAnswers()

// At most QUEUE_MAX_ACTIVE (200 by default) fans can be READY at once.
const FANS = Math.min(Number(__ENV.FANS || 50), 200)

export const options = {
  setupTimeout: '180s',
  scenarios: { race: { executor: 'per-vu-iterations', vus: FANS, iterations: 1, maxDuration: '60s' } },
  thresholds: {
    // One seat, one sale: exactly one 201.
    seats_sold: ['count==1'],
    seat_refused: [`count==${FANS - 1}`],
    checks: ['rate==1'],
    // 409 is the expected answer of the losers (see expectQueueAnswers), not a failure.
    http_req_failed: ['rate==0'],
    'http_req_duration{name:POST /v1/reservations}': ['p(95)<1000'],
  },
}

const sold = new Counter('seats_sold')
const refused = new Counter('seat_refused')

/** @typedef {import('./lib/api.js').Ticket} Ticket */
/** @typedef {import('./lib/api.js').ReserveRequest} ReserveRequest */
/** @typedef {{ tokens: string[], scheduleId: number, seatId: number }} Race */

/** @returns {Race} */
export function setup() {
  /** @type {Ticket[]} */
  const joined = []
  for (let i = 0; i < FANS; i += 1) {
    const ticket = join(createFan(`race-${i}`, 1_000_000))
    if (!ticket) fail('join refused in setup: raise ISSUE_RATE_LIMIT_PER_MINUTE or retry later')
    joined.push(ticket)
  }
  const tokens = joined.map((ticket) => ticket.token)
  for (const waiting of joined) {
    const ticket = pollUntilAdmitted(waiting, {}, 120)
    if (ticket.status !== 'READY') fail(`token ${ticket.token} not READY in setup (${ticket.status})`)
  }
  const first = tokens[0]
  const seats = first === undefined ? undefined : freeSeats(first)
  const seatId = seats?.freeSeatIds[0]
  if (!seats || seatId === undefined) fail('no free seat to fight over: reseed or pick another EVENT_ID')
  return { tokens, scheduleId: seats.scheduleId, seatId }
}

/** @param {Race} race */
export default function (race) {
  const token = race.tokens[__VU - 1]
  if (token === undefined) fail(`no token for VU ${__VU}`)
  const response = http.post(
    `${BOOKING}/v1/reservations`,
    json(/** @satisfies {ReserveRequest} */ ({ scheduleId: race.scheduleId, seatId: race.seatId })),
    params('POST /v1/reservations', { authorization: `Bearer ${token}` }),
  )
  check(response, {
    '201, or 409 for a seat taken or being paid for': (r) => r.status === 201 || r.status === 409,
  })
  if (response.status === 201) sold.add(1)
  if (response.status === 409) refused.add(1)
}
