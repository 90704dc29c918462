import { SALE_STATES } from '@concert/queue'
import { IdSchema, literalUnion } from '@concert/shared'
import { type Static, type TSchema, Type } from 'typebox'

/*
 * The operator API's bodies and answers (SPEC §7). The schemas are the types (Static<>),
 * the request validation and the OpenAPI document at once. What a schema cannot say
 * (an IANA zone, unique seat numbers, a real sale window) the services check.
 */

/** Years 2000–2999 keep every value inside MySQL's DATE and DATETIME ranges. */
const ShowDate = Type.String({
  format: 'date',
  pattern: '^2\\d{3}-\\d{2}-\\d{2}$',
  description: 'Show date, YYYY-MM-DD, in the venue’s time zone',
  examples: ['2026-12-24'],
})
const TimeOfDay = Type.String({
  pattern: '^([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d$',
  description: 'HH:MM:SS, wall-clock time in the venue’s time zone',
  examples: ['19:00:00'],
})
const Instant = Type.String({
  format: 'date-time',
  pattern: '^2\\d{3}-',
  description: 'ISO-8601 instant with a zone, e.g. 2026-12-01T11:00:00Z',
})
const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '\\S', ...(description ? { description } : {}) })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

const SeatType = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,32}$',
  description: 'Seat type, priced per event (e.g. VIP, R, S)',
})
const Won = Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Whole won' })

export const VenueParams = Type.Object({ venueId: IdSchema })
export const AdminEventParams = Type.Object({ eventId: IdSchema })
export const AdminScheduleParams = Type.Object({ scheduleId: IdSchema })

export const SeatLayout = Type.Object(
  {
    seatNumber: Type.String({ pattern: '^[A-Za-z0-9._-]{1,16}$', description: 'Unique within the venue' }),
    area: Text(64),
    seatType: SeatType,
  },
  { additionalProperties: false },
)

export const CreateVenueBody = Type.Object(
  {
    name: Text(255, 'Unique among venues'),
    address: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    timeZone: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone of the venue; show dates and times are wall-clock times here',
      examples: ['Asia/Seoul'],
    }),
    seats: Type.Array(SeatLayout, { minItems: 1, maxItems: 5_000 }),
  },
  { additionalProperties: false },
)
export type CreateVenueBody = Static<typeof CreateVenueBody>

export const AdminVenueSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    address: Type.Union([Type.String(), Type.Null()]),
    timeZone: Type.String(),
    capacity: Type.Integer(),
    seats: Type.Array(
      Type.Object({
        seatId: Type.Integer(),
        seatNumber: Type.String(),
        area: Type.String(),
        seatType: Type.String(),
      }),
    ),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'AdminVenue' },
)
export type AdminVenue = Static<typeof AdminVenueSchema>

const Prices = Type.Record(SeatType, Won, {
  minProperties: 1,
  maxProperties: 100,
  additionalProperties: false,
  description: 'Price per seat type, whole won',
  examples: [{ VIP: 165_000, R: 143_000 }],
})

const SaleWindow = Type.Object(
  {
    opensAt: Type.Optional(Nullable(Instant)),
    closesAt: Type.Optional(Nullable(Instant)),
    preQueueMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_440 })),
  },
  {
    additionalProperties: false,
    description: 'opensAt null: on sale since creation; closesAt null: until sold out',
  },
)

const QueueOverrides = Type.Object(
  {
    maxActive: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    admitPerSecond: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000 }))),
    activeTtlSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 86_400 }))),
    waitingIdleSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 86_400 }))),
  },
  {
    additionalProperties: false,
    description: 'Per-event queue settings; null or absent: the QUEUE_* default',
  },
)

const Limits = Type.Object(
  {
    maxSeatsPerOrder: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    maxSeatsPerAccount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  },
  { additionalProperties: false },
)

export const CreateEventBody = Type.Object(
  {
    title: Text(255),
    description: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
    venueId: IdSchema,
    prices: Prices,
    sale: Type.Optional(SaleWindow),
    queue: Type.Optional(QueueOverrides),
    limits: Type.Optional(Limits),
  },
  { additionalProperties: false },
)
export type CreateEventBody = Static<typeof CreateEventBody>

/** The same body, all optional; the venue of an event is fixed. */
export const UpdateEventBody = Type.Object(
  {
    title: Type.Optional(Text(255)),
    description: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
    prices: Type.Optional(Prices),
    sale: Type.Optional(SaleWindow),
    queue: Type.Optional(QueueOverrides),
    limits: Type.Optional(Limits),
  },
  { additionalProperties: false },
)
export type UpdateEventBody = Static<typeof UpdateEventBody>

const AdminShow = Type.Object({
  scheduleId: Type.Integer(),
  eventId: Type.Integer(),
  date: Type.String(),
  startTime: Type.String(),
  endTime: Type.Union([Type.String(), Type.Null()]),
  timeZone: Type.String({ description: 'The venue’s zone, which date and times are in' }),
  startsAt: Type.String({ format: 'date-time', description: 'The start as a UTC instant' }),
  seatsSold: Type.Integer(),
})

export const AdminScheduleSchema = Type.Object(AdminShow.properties, { $id: 'AdminSchedule' })
export type AdminSchedule = Static<typeof AdminScheduleSchema>

export const AdminEventSchema = Type.Object(
  {
    id: Type.Integer(),
    title: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    venue: Type.Object({ id: Type.Integer(), name: Type.String(), timeZone: Type.String() }),
    prices: Type.Record(Type.String(), Type.Integer()),
    sale: Type.Object({
      opensAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      closesAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      preQueueMinutes: Type.Integer(),
    }),
    queue: Type.Object(
      {
        maxActive: Type.Union([Type.Integer(), Type.Null()]),
        admitPerSecond: Type.Union([Type.Integer(), Type.Null()]),
        activeTtlSeconds: Type.Union([Type.Integer(), Type.Null()]),
        waitingIdleSeconds: Type.Union([Type.Integer(), Type.Null()]),
        paused: Type.Boolean(),
      },
      { description: 'The event’s own settings; null: the QUEUE_* env default applies' },
    ),
    limits: Type.Object({ maxSeatsPerOrder: Type.Integer(), maxSeatsPerAccount: Type.Integer() }),
    startDate: Type.Union([Type.String(), Type.Null()]),
    endDate: Type.Union([Type.String(), Type.Null()]),
    schedules: Type.Array(AdminShow),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'AdminEvent' },
)
export type AdminEvent = Static<typeof AdminEventSchema>

export const CreateScheduleBody = Type.Object(
  { date: ShowDate, startTime: TimeOfDay, endTime: Type.Optional(Nullable(TimeOfDay)) },
  { additionalProperties: false },
)
export type CreateScheduleBody = Static<typeof CreateScheduleBody>

/** PATCH /v1/admin/events/{eventId}/queue: admission, live (null: back to the QUEUE_* default). */
export const QueueSettingsBody = Type.Object(
  {
    ...QueueOverrides.properties,
    paused: Type.Optional(
      Type.Boolean({ description: 'true: nobody is admitted; waiters keep their places' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type QueueSettingsBody = Static<typeof QueueSettingsBody>

const Count = Type.Integer({ minimum: 0 })

/** GET /v1/admin/events/{eventId}/queue (SPEC §7). */
export const QueueStatusSchema = Type.Object(
  {
    state: literalUnion(SALE_STATES),
    settings: Type.Object({
      maxActive: Count,
      admitPerSecond: Count,
      activeTtlSeconds: Count,
      waitingIdleSeconds: Count,
      paused: Type.Boolean(),
    }),
    waiting: Count,
    ready: Count,
    admittedLastMinute: Count,
    joinedTotal: Count,
    completedTotal: Count,
    abandonedTotal: Count,
    timedOutTotal: Count,
    leftTotal: Count,
    seatsTotal: Count,
    seatsSold: Count,
    seatsLeft: Count,
    oldestWaiterSeconds: Count,
    mirrorLagSeconds: Type.Number({ minimum: 0 }),
  },
  { $id: 'QueueStatus' },
)
export type QueueStatusView = Static<typeof QueueStatusSchema>

export const AdminReservationParams = Type.Object({ reservationId: IdSchema })

export const RefundBody = Type.Object(
  { reason: Text(500, 'Why the sale is cancelled; kept on the reservation and in ADMIN_AUDIT') },
  { additionalProperties: false },
)
export type RefundBody = Static<typeof RefundBody>

export const AdminRefundSchema = Type.Object(
  {
    reservationId: Type.Integer(),
    orderId: Type.Integer({ description: 'The order the seat was bought in (its first reservation)' }),
    accountId: Type.String(),
    scheduleId: Type.Integer(),
    seatId: Type.Integer(),
    seatNumber: Type.String(),
    status: Type.Literal('REFUNDED'),
    refunded: Type.Integer({ description: 'Won given back: the price the seat was paid at' }),
    balance: Type.Integer({ description: 'The account’s balance right after the refund' }),
    reason: Type.String(),
    refundedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'AdminRefund' },
)
export type AdminRefund = Static<typeof AdminRefundSchema>

export const adminSchemas = [
  AdminVenueSchema,
  AdminEventSchema,
  AdminScheduleSchema,
  QueueStatusSchema,
  AdminRefundSchema,
]
