/**
 * The demo catalogue of SPEC §6. Dates are offsets from "today" (UTC) so a fresh
 * start always has upcoming shows; prices live here as data, never in code paths.
 * Migration 0002 gave the events seeded before it their `seedKey`s: keep them as they are.
 */
export const DEMO_VENUE = {
  name: 'Olympic Hall',
  address: '424 Olympic-ro, Songpa-gu, Seoul',
  capacity: 50,
  // Show dates and times below are wall-clock times in this zone (SPEC §7).
  time_zone: 'Asia/Seoul',
}

/** Seats 1..50: the first ten VIP in area A, then R in B, then S in C. */
export const DEMO_SEATS = Array.from({ length: 50 }, (_, index) => {
  const number = index + 1
  if (number <= 10) return { seatNumber: String(number), area: 'A', seatType: 'VIP' }
  if (number <= 30) return { seatNumber: String(number), area: 'B', seatType: 'R' }
  return { seatNumber: String(number), area: 'C', seatType: 'S' }
})

export const DEMO_EVENTS = [
  {
    // The seed's natural key for the event: titles may repeat, seed keys may not.
    seedKey: 'demo-aurora',
    title: 'Aurora World Tour in Seoul',
    description: 'Three nights of the Aurora world tour.',
    // From tomorrow: by the UTC calendar, a Seoul evening show "today" may already have started.
    dayOffsets: [1, 2, 7],
    startTime: '19:00:00',
    endTime: '21:30:00',
    prices: { VIP: 165_000, R: 143_000, S: 121_000 },
  },
  {
    seedKey: 'demo-jazz',
    title: 'Midnight Jazz Night',
    description: 'A late set of standards and new tunes.',
    dayOffsets: [3, 10, 17],
    startTime: '20:00:00',
    endTime: '22:00:00',
    prices: { VIP: 99_000, R: 77_000, S: 55_000 },
  },
] as const

export const DEMO_ACCOUNTS = [
  { id: 'demo-alice', email: 'alice@example.com', name: 'Alice', balance: 500_000 },
  { id: 'demo-bob', email: 'bob@example.com', name: 'Bob', balance: 200_000 },
  { id: 'demo-carol', email: 'carol@example.com', name: 'Carol', balance: 50_000 },
]
