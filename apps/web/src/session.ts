import { useEffect, useState } from 'preact/hooks'

/** Who is using the app. Accounts have no password here (SPEC §11: the site's login would sit in front). */
export interface SessionAccount {
  id: string
  name: string
}

/** A queue token this browser holds for an event, with the first place it was given (for the progress bar). */
export interface HeldTicket {
  token: string
  eventId: number
  firstPosition: number | null
}

/** One seat of a finished purchase, as the confirmation shows it. */
export interface PurchasedSeat {
  reservationId: number
  seatId: number
  seatNumber: string
  area: string
  seatType: string
  price: number
}

export interface Purchase {
  eventId: number
  eventTitle: string
  scheduleId: number
  date: string
  startTime: string
  seats: PurchasedSeat[]
  total: number
  balance: number
  reservedAt: string
}

export interface Session {
  account: SessionAccount | undefined
  /** Last balance an API answer told us (create, charge, balance read, payment). */
  balance: number | undefined
  /** Queue tokens by event id. */
  tickets: Record<string, HeldTicket>
  /** The event a fan picked before choosing an account: joined right after. */
  pendingEventId: number | undefined
  lastPurchase: Purchase | undefined
  /**
   * The order being picked on a seat map (its event, show and seats), so a trip to the
   * top-up page, or a reload, finds it as it was.
   */
  draft: DraftOrder | undefined
}

export interface DraftOrder {
  eventId: number
  scheduleId: number
  seatIds: number[]
}

const STORAGE_KEY = 'concert.session.v1'
const EMPTY: Session = {
  account: undefined,
  balance: undefined,
  tickets: {},
  pendingEventId: undefined,
  lastPurchase: undefined,
  draft: undefined,
}

function load(): Session {
  try {
    const stored = localStorage.getItem(STORAGE_KEY)
    return stored ? { ...EMPTY, ...(JSON.parse(stored) as Partial<Session>) } : EMPTY
  } catch {
    return EMPTY
  }
}

let state: Session = load()
const listeners = new Set<(session: Session) => void>()

/**
 * The browser is the fan: the session survives reloads (localStorage), so a
 * reload in the waiting room keeps the same token and place.
 */
export function getSession(): Session {
  return state
}

export function updateSession(change: (session: Session) => Partial<Session>): void {
  state = { ...state, ...change(state) }
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(state))
  } catch {
    // Private mode or a full storage: the session still lives for this page.
  }
  for (const listener of listeners) listener(state)
}

export function useSession(): Session {
  const [session, setSession] = useState(state)
  useEffect(() => {
    listeners.add(setSession)
    setSession(state)
    return () => {
      listeners.delete(setSession)
    }
  }, [])
  return session
}

export function signIn(account: SessionAccount, balance: number | undefined): void {
  // Another person's tokens and purchase are not this one's.
  updateSession(() => ({ ...EMPTY, account, balance }))
}

export function signOut(): void {
  updateSession(() => EMPTY)
}

export function holdTicket(eventId: number, token: string, position: number | null): void {
  updateSession((session) => {
    const held = session.tickets[eventId]
    const firstPosition = held?.token === token ? (held.firstPosition ?? position) : position
    return { tickets: { ...session.tickets, [eventId]: { token, eventId, firstPosition } } }
  })
}

export function dropTicket(eventId: number): void {
  updateSession((session) => {
    const { [eventId]: _dropped, ...rest } = session.tickets
    return { tickets: rest }
  })
}

/** Any token of this account: the reservations list and the balance accept one (SPEC §3). */
export function anyToken(session: Session): string | undefined {
  return Object.values(session.tickets)[0]?.token
}
