import { SALE_STATES } from '@concert/queue'
import { AccountIdSchema, IdSchema, literalUnion } from '@concert/shared'
import { type Static, Type } from 'typebox'

/*
 * Request and response schemas of the booking API. Each response schema is also
 * the TypeScript type of what the services return (`Static<>` below), so the
 * documented shape and the code cannot drift apart.
 */

const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', examples: ['2026-12-24'] })
const TimeString = Type.String({ pattern: '^\\d{2}:\\d{2}:\\d{2}$', examples: ['19:00:00'] })
const Instant = Type.String({ format: 'date-time' })

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Retries with the same key return the first answer and move no money twice',
    }),
  ),
})

export const CreateAccountBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 128 }),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' }),
  },
  { additionalProperties: false },
)

export const AccountIdParams = Type.Object({ accountId: AccountIdSchema })

export const AccountSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    balance: Type.Integer(),
    createdAt: Instant,
  },
  { $id: 'Account' },
)
export type Account = Static<typeof AccountSchema>

export const BalanceSchema = Type.Object(
  { accountId: Type.String(), balance: Type.Integer() },
  { $id: 'Balance' },
)
export type Balance = Static<typeof BalanceSchema>

export const ChargeBody = Type.Object(
  { amount: Type.Integer({ description: 'Whole won, 1..10,000,000' }) },
  { additionalProperties: false },
)

export const ChargeSchema = Type.Object(
  { accountId: Type.String(), balance: Type.Integer(), charged: Type.Integer() },
  { $id: 'Charge' },
)
export type Charge = Static<typeof ChargeSchema>

export const EventSchema = Type.Object(
  {
    id: Type.Integer(),
    title: Type.String(),
    venue: Type.Object({ id: Type.Integer(), name: Type.String() }),
    startDate: DateString,
    endDate: DateString,
    state: literalUnion(SALE_STATES, {
      description:
        'The sale now (SPEC §8): SCHEDULED (joins refused until the pre-queue opens), PRE_QUEUE, OPEN, ' +
        'PAUSED, SOLD_OUT or CLOSED. As fresh as the list (SEAT_MAP_CACHE_MS); the queue is the authority.',
    }),
    opensAt: Type.Union([Instant, Type.Null()], {
      description: 'When the sale opens; null: open since it was created',
    }),
  },
  { $id: 'Event' },
)
export type Event = Static<typeof EventSchema>

export const EventParams = Type.Object({ eventId: IdSchema })
export const ScheduleParams = Type.Object({ scheduleId: IdSchema })

export const ScheduleSchema = Type.Object(
  {
    scheduleId: Type.Integer(),
    date: DateString,
    startTime: TimeString,
    endTime: Type.Union([TimeString, Type.Null()]),
    totalSeats: Type.Integer(),
    availableSeats: Type.Integer(),
  },
  { $id: 'Schedule' },
)
export type Schedule = Static<typeof ScheduleSchema>

export const SEAT_STATUSES = ['AVAILABLE', 'RESERVED'] as const
export type SeatStatus = (typeof SEAT_STATUSES)[number]

export const SeatMapSchema = Type.Object(
  {
    scheduleId: Type.Integer(),
    eventId: Type.Integer(),
    date: DateString,
    startTime: TimeString,
    maxSeatsPerOrder: Type.Integer({
      minimum: 1,
      description:
        'The event’s limit of seats in one order (SPEC §9): a seat picker offers at most this many; ' +
        'a larger order is refused with 409 ORDER_TOO_LARGE',
    }),
    seats: Type.Array(
      Type.Object({
        seatId: Type.Integer(),
        seatNumber: Type.String(),
        area: Type.String(),
        seatType: Type.String(),
        price: Type.Union([Type.Integer(), Type.Null()]),
        status: literalUnion(SEAT_STATUSES),
      }),
    ),
  },
  { $id: 'SeatMap' },
)
export type SeatMap = Static<typeof SeatMapSchema>

/** Highest `maxSeatsPerOrder` an operator can set; the event's own limit is checked by the service. */
export const MAX_SEATS_PER_ORDER = 100

const ReserveSeatBody = Type.Object(
  { scheduleId: IdSchema, seatId: IdSchema },
  { additionalProperties: false, title: 'One seat (v1)' },
)
const ReserveSeatsBody = Type.Object(
  {
    scheduleId: IdSchema,
    seatIds: Type.Array(IdSchema, {
      minItems: 1,
      maxItems: MAX_SEATS_PER_ORDER,
      uniqueItems: true,
      description:
        'The seats of one order, all or nothing: 1..the event’s maxSeatsPerOrder (409 ORDER_TOO_LARGE past it), no duplicates',
    }),
  },
  { additionalProperties: false, title: 'Several seats (v2)' },
)
/** `seatId` (v1) or `seatIds` (v2), never both. */
export const ReserveBody = Type.Union([ReserveSeatBody, ReserveSeatsBody])
export type ReserveBody = Static<typeof ReserveBody>

const OrderSeat = Type.Object({
  reservationId: Type.Integer(),
  seatId: Type.Integer(),
  seatNumber: Type.String(),
  price: Type.Integer(),
})

export const ReservationSchema = Type.Object(
  {
    reservationId: Type.Integer({
      description: 'The first seat’s reservation (seats are ordered by seatId)',
    }),
    accountId: Type.String(),
    scheduleId: Type.Integer(),
    seatId: Type.Integer({ description: 'The first seat' }),
    seatNumber: Type.String(),
    price: Type.Integer({ description: 'The first seat’s price' }),
    balance: Type.Integer({ description: 'Balance after payment' }),
    reservedAt: Instant,
    seats: Type.Array(OrderSeat, { description: 'Every seat of the order, by ascending seatId' }),
    total: Type.Integer({ description: 'What the order cost: the balance dropped by this much' }),
  },
  { $id: 'Reservation' },
)
export type Reservation = Static<typeof ReservationSchema>

export const RESERVATION_STATUSES = ['SOLD', 'REFUNDED'] as const

export const AccountReservationSchema = Type.Object(
  {
    reservationId: Type.Integer(),
    orderId: Type.Integer({ description: 'The first reservation of the order this seat was bought in' }),
    scheduleId: Type.Integer(),
    eventId: Type.Integer(),
    eventTitle: Type.String(),
    date: DateString,
    startTime: TimeString,
    seatId: Type.Integer(),
    seatNumber: Type.String(),
    area: Type.String(),
    seatType: Type.String(),
    price: Type.Integer(),
    status: literalUnion(RESERVATION_STATUSES, {
      description: 'SOLD: the account holds the seat; REFUNDED: the price went back to the balance',
    }),
    reservedAt: Instant,
    refundedAt: Type.Union([Instant, Type.Null()]),
  },
  { $id: 'AccountReservation' },
)
export type AccountReservation = Static<typeof AccountReservationSchema>

export const bookingSchemas = [
  AccountSchema,
  BalanceSchema,
  ChargeSchema,
  EventSchema,
  ScheduleSchema,
  SeatMapSchema,
  ReservationSchema,
  AccountReservationSchema,
]
