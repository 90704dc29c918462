// k6 run docker/k6/flash-crowd.js   (k6 is not installed on the dev machines; run it where it is)
// A flash crowd: every virtual user creates an account, charges it, joins the
// queue, follows pollAfterMs until READY, then tries to buy a random seat.
// Point it at loopback or your own test hosts only:
//   GATEWAY=http://127.0.0.1:3000 BOOKING=http://127.0.0.1:3001 k6 run docker/k6/flash-crowd.js

import { check, sleep } from 'k6'
import http from 'k6/http'
import { Counter, Trend } from 'k6/metrics'

const GATEWAY = __ENV.GATEWAY || 'http://127.0.0.1:3000'
const BOOKING = __ENV.BOOKING || 'http://127.0.0.1:3001'
const EVENT_ID = Number(__ENV.EVENT_ID || 1)

export const options = {
  scenarios: {
    crowd: {
      executor: 'shared-iterations',
      vus: Number(__ENV.VUS || 500),
      iterations: Number(__ENV.FANS || 2000),
      maxDuration: '10m',
    },
  },
  thresholds: { http_req_failed: ['rate<0.01'] },
}

const waitToReady = new Trend('queue_wait_to_ready_ms', true)
const sold = new Counter('seats_sold')
const json = { headers: { 'content-type': 'application/json' } }

export default function () {
  const email = `k6-${__VU}-${__ITER}-${Date.now()}@load.test`
  const account = http.post(`${BOOKING}/v1/accounts`, JSON.stringify({ email, name: 'k6 fan' }), json)
  check(account, { 'account created': (r) => r.status === 201 })
  const accountId = account.json('id')
  http.post(`${BOOKING}/v1/accounts/${accountId}/balance/charge`, JSON.stringify({ amount: 500000 }), json)

  const joined = http.post(
    `${GATEWAY}/v1/queue/tokens`,
    JSON.stringify({ accountId, eventId: EVENT_ID }),
    json,
  )
  check(joined, { joined: (r) => r.status === 201 || r.status === 200 })
  let ticket = joined.json()
  const started = Date.now()
  while (ticket.status === 'WAITING') {
    sleep(ticket.pollAfterMs / 1000)
    ticket = http.get(`${GATEWAY}/v1/queue/tokens/${ticket.token}`).json()
  }
  if (ticket.status !== 'READY') return
  waitToReady.add(Date.now() - started)

  const auth = { headers: { 'content-type': 'application/json', authorization: `Bearer ${ticket.token}` } }
  const dates = http.get(`${BOOKING}/v1/events/${EVENT_ID}/schedules`, auth).json()
  if (!dates.length) return
  const scheduleId = dates[0].scheduleId
  const map = http.get(`${BOOKING}/v1/schedules/${scheduleId}/seats`, auth).json()
  const free = map.seats.filter((s) => s.status === 'AVAILABLE')
  if (!free.length) {
    http.del(`${GATEWAY}/v1/queue/tokens/${ticket.token}`)
    return
  }
  const seat = free[Math.floor(Math.random() * free.length)]
  const bought = http.post(
    `${BOOKING}/v1/reservations`,
    JSON.stringify({ scheduleId, seatId: seat.seatId }),
    auth,
  )
  check(bought, { 'bought or lost the race cleanly': (r) => [201, 402, 409].includes(r.status) })
  if (bought.status === 201) sold.add(1)
  else http.del(`${GATEWAY}/v1/queue/tokens/${ticket.token}`)
}
