// k6 run docker/k6/contested-seat.js   (see flash-crowd.js for how to point it)
// Many READY fans fire at the same seat at once: exactly one 201, every other
// answer a fast 409 (SEAT_LOCKED or SEAT_ALREADY_RESERVED). Pass READY tokens
// of distinct accounts in TOKENS (comma-separated) and the seat to fight over.

import { check } from 'k6'
import http from 'k6/http'

const BOOKING = __ENV.BOOKING || 'http://127.0.0.1:3001'
const TOKENS = (__ENV.TOKENS || '').split(',').filter(Boolean)
const SCHEDULE_ID = Number(__ENV.SCHEDULE_ID || 1)
const SEAT_ID = Number(__ENV.SEAT_ID || 1)

export const options = {
  scenarios: { race: { executor: 'per-vu-iterations', vus: Math.max(1, TOKENS.length), iterations: 1 } },
  thresholds: { http_req_duration: ['p(95)<250'] },
}

export default function () {
  const token = TOKENS[__VU - 1]
  const response = http.post(
    `${BOOKING}/v1/reservations`,
    JSON.stringify({ scheduleId: SCHEDULE_ID, seatId: SEAT_ID }),
    { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
  )
  check(response, { '201 or 409': (r) => r.status === 201 || r.status === 409 })
}
