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

export const ReserveBody = Type.Object(
  { scheduleId: IdSchema, seatId: IdSchema },
  { additionalProperties: false },
)

export const ReservationSchema = Type.Object(
  {
    reservationId: Type.Integer(),
    accountId: Type.String(),
    scheduleId: Type.Integer(),
    seatId: Type.Integer(),
    seatNumber: Type.String(),
    price: Type.Integer(),
    balance: Type.Integer({ description: 'Balance after payment' }),
    reservedAt: Instant,
  },
  { $id: 'Reservation' },
)
export type Reservation = Static<typeof ReservationSchema>

export const AccountReservationSchema = Type.Object(
  {
    reservationId: Type.Integer(),
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
    reservedAt: Instant,
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
