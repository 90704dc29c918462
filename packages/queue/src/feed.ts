import type { FeedRead, QueueService, TokenRead } from './queue.js'
import type { Ticket } from './ticket-schema.js'
import type { TokenState } from './token-state.js'

/** One follower of one token (an SSE stream). */
export interface FeedFollower {
  readonly token: string
  /**
   * The ticket a poll would answer now. `statusRead` when it was read from the token
   * itself because its status changed (admitted, expired, rebuilt): send it at once.
   */
  deliver(ticket: Ticket, statusRead: boolean): void
  /** False while the follower would not send an unchanged-status ticket anyway (spares building it). */
  due?(now: number): boolean
  /** The token no longer exists. */
  gone(): void
}

interface Followed {
  follower: FeedFollower
  state: TokenState
  /** Its place is to be confirmed against Redis (just added, or the queue was rebuilt). */
  recheck: boolean
}

/** A WAITING token this copy answers polls for (followPoll). */
interface Polled {
  state: TokenState
  /** The queue's epoch when the poll that read it ran. */
  epoch: string
  /** A read after it was added found it waiting at its place (ZMSCORE): the feed's entries cover it since. */
  confirmed: boolean
  /** When it was last polled (ms, this copy's clock): followers not polled for a while are let go. */
  polledAt: number
}

export interface EventFeedOptions {
  /** Most feed entries per read; the rest come at the next tick. */
  maxEntries?: number
  /** Places per holes-2.lua call when walking the queue (bounds each script run). */
  walkSlice?: number
  /** Failures of a status read (the feed's own failures surface from tick(), refresh() and poll()). */
  onError?: (error: unknown) => void
}

/** Feed reads one refresh may make to catch up with a feed that grew by more than maxEntries. */
const MAX_CATCH_UP_READS = 10
/** Polls one read records as seen at most; polls beyond it go to the poll script. */
const MAX_POLLS_PER_READ = 10_000
/** Reads of one event sent and not yet applied, at most (more polls wait to share the next). */
const MAX_IN_FLIGHT = 4

/** A poll waiting for its read. */
interface PollWaiter {
  entry: Polled
  resolve: (ticket: Ticket | undefined) => void
  reject: (error: unknown) => void
}

/** The read to be sent next, and everything it serves: it takes callers until it is sent. */
interface NextRead {
  waiters: PollWaiter[]
  /** Tokens to record as seen (the waiters' own). */
  polled: Set<string>
  /** An SSE tick waits for it: walk up to every stream, and deliver. */
  tick: boolean
  done: Promise<FeedRead | undefined>
  resolve: (read: FeedRead | undefined) => void
  reject: (error: unknown) => void
}

/** Whether feed entry id `a` ('<ms>-<seq>') comes after `b` ('' or '0-0': the start). */
function idAfter(a: string, b: string): boolean {
  if (b === '') return true
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am > bm || (am === bm && as > bs)
}

/** Index of the first element ≥ x in a sorted array. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The union of two sorted arrays of distinct numbers, sorted. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  if (b.length === 0) return a as number[]
  if (a.length === 0) return b as number[]
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Number.POSITIVE_INFINITY
    const y = j < b.length ? (b[j] as number) : Number.POSITIVE_INFINITY
    const next = Math.min(x, y)
    if (x === next) i += 1
    if (y === next) j += 1
    if (out.length === 0 || out[out.length - 1] !== next) out.push(next)
  }
  return out
}

/**
 * The SSE fan-out of one event on one gateway copy, and its polls: one Redis read
 * per tick (feed-8.lua) for all the event's streams, whatever their number, and
 * one per batch of polls.
 *
 * A waiting token's position is what a poll answers, its ZRANK + 1, computed
 * without asking Redis per token:
 *
 *   position(place) = place − head + 1 − |gaps in [head, place)|
 *
 * where head is the first waiting place and gaps are the places in [head, …)
 * no waiting token holds. Places are issued once each (INCR) and a place only
 * stops being waiting, so within one epoch the gaps only grow: a waiting token
 * that expires (left, abandoned, sold out, closed) is appended to the event's
 * feed with its place (includes/expire.lua), and admissions take places below
 * the head, never a gap. When the feed starts (or the queue was rebuilt from
 * MySQL, or the pre-queue drawn, or entries were trimmed before this copy read
 * them) the gaps are found once by walking the waiting zset (holes-2.lua) in
 * slices, and from then on only the feed's new entries are read.
 *
 * A token whose status changes (its place falls below the head: admitted or
 * gone; it appears in the feed: expired) is read once on its own, so a READY
 * ticket carries exactly what a poll answers.
 *
 * Polls of a WAITING token the copy has polled before are answered the same way
 * (`poll`), from a read that began after the poll came in: the polls that arrive
 * in one turn of the event loop share one read, which also records their tokens
 * as seen (the poll script's heartbeat). Reads may overlap in Redis (up to
 * MAX_IN_FLIGHT), but are applied one at a time in the order they were sent,
 * which is the order Redis ran them in; entries an earlier read already brought
 * are skipped by id, and a read older than the state already applied (the feed
 * read on its own meanwhile: a catch-up, a rebuild) is answered from that newer
 * state. Each read's polls are answered, and its streams fed, as the read is
 * applied, from the state it left. What a poll is told is what the poll script
 * would have answered at some moment between that read's start and its end;
 * anything the read cannot vouch for (a status change, a rebuilt queue, a token
 * not confirmed yet, a place not walked yet, a feed not caught up) goes back to
 * the poll script.
 */
export class EventFeed {
  private readonly followed = new Map<FeedFollower, Followed>()
  private readonly reading = new Set<Followed>()
  /** Followers whose status changed again while it was being read: read once more after. */
  private readonly readAgain = new Set<Followed>()
  private readonly maxEntries: number
  private readonly walkSlice: number
  /** The epoch the state below belongs to; undefined: (re)build at the next tick. */
  private epoch: string | undefined
  private drawn = false
  private cursor = ''
  /** Feed entries accounted for (the feed's entries-added at the cursor). */
  private added = 0
  private head: number | null = null
  /** Sorted places no waiting token holds, from the head on (those below it pruned as it passes). */
  private gaps: number[] = []
  /** Places up to here were walked (or are newer than the walk: the feed covers them). */
  private walkedTo = 0
  private lastTouch = 0
  /** The event's idle window as last read (its own, or the deployment's). */
  private idleMs: number
  /** Polled WAITING tokens by token (followPoll), and those whose place is not confirmed yet. */
  private readonly polled = new Map<string, Polled>()
  private readonly unconfirmed = new Set<Polled>()
  /** The last read applied read the feed to its end (false: it stopped at MAX_CATCH_UP_READS). */
  private caughtUp = false
  /** The read callers join now (sent at the next turn of the event loop, or when a slot frees). */
  private next: NextRead | undefined
  /** Reads sent and not applied yet; a read sent while the feed has no state (a build) counts as all. */
  private inFlight = 0
  private buildInFlight = false
  /** Replies are applied one at a time, in the order sent. */
  private chain: Promise<unknown> = Promise.resolve()
  /** Reads sent so far (their order), and the newest whose state is applied. */
  private sentSeq = 0
  private appliedSeq = 0
  private lastRead: FeedRead | undefined
  /** The walk's slices since the last rebuild: each one's last place, and its order among the reads. */
  private walkEnds: number[] = []
  private walkSeqs: number[] = []
  /** The farthest place of a polled token since the last rebuild (the walk covers up to it). */
  private farthestPolled = 0

  constructor(
    private readonly queue: QueueService,
    readonly eventId: number,
    private readonly options: EventFeedOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 5_000
    // A read for polls waits for one slice: one with gaps all through is listed in full
    // (holes-2.lua), ~2.5 ms of Redis on a slow 2-core machine at this size.
    this.walkSlice = options.walkSlice ?? 2_500
    this.idleMs = queue.settings.waitingIdleSeconds * 1000
  }

  /** SSE followers. */
  get size(): number {
    return this.followed.size
  }

  /** Polled tokens followed. */
  get polledSize(): number {
    return this.polled.size
  }

  /** Nothing to follow: the hub may let the feed go. */
  get empty(): boolean {
    return this.followed.size === 0 && this.polled.size === 0
  }

  /** Follows a token from its state as just read (its place is confirmed at the next tick). */
  add(follower: FeedFollower, state: TokenState): void {
    this.followed.set(follower, { follower, state, recheck: true })
  }

  remove(follower: FeedFollower): void {
    this.followed.delete(follower)
  }

  /** When (in the order of reads) the walk slice holding `place` ran; 0 if no slice holds it. */
  private walkedAfter(place: number): number {
    const i = lowerBound(this.walkEnds, place)
    return i < this.walkSeqs.length ? (this.walkSeqs[i] as number) : 0
  }

  /** Position (1 = head) of a waiting place, from the head and the gaps. */
  positionOf(place: number, head: number): number {
    return place - head + 1 - (lowerBound(this.gaps, place) - lowerBound(this.gaps, head))
  }

  /** One tick: read, bring the local state up to date, give every follower its ticket. */
  async tick(): Promise<void> {
    if (this.followed.size === 0) return
    const next = this.upcoming()
    next.tick = true
    await next.done
  }

  /** Resolves once a read that began after this call is applied (undefined: the state is not complete yet). */
  refresh(): Promise<FeedRead | undefined> {
    return this.upcoming().done
  }

  /** The read callers join now; it is sent at the next turn of the event loop. */
  private upcoming(): NextRead {
    if (this.next) return this.next
    let resolve: (read: FeedRead | undefined) => void = () => {}
    let reject: (error: unknown) => void = () => {}
    const done = new Promise<FeedRead | undefined>((res, rej) => {
      resolve = res
      reject = rej
    })
    // Nobody has to handle a failed read (a poll falls back, a tick logs): no unhandled rejection.
    done.catch(() => {})
    const next: NextRead = { waiters: [], polled: new Set(), tick: false, done, resolve, reject }
    this.next = next
    setImmediate(() => this.send())
    return next
  }

  /** Sends the next read, unless the reads in flight are at their limit (then it goes when one is applied). */
  private send(): void {
    const next = this.next
    if (!next || this.buildInFlight || this.inFlight >= MAX_IN_FLIGHT) return
    const building = this.epoch === undefined
    // A read without state reads from the end; one with a cursor must wait for it.
    if (building && this.inFlight > 0) return
    this.next = undefined
    this.inFlight += 1
    this.buildInFlight = building
    const seq = ++this.sentSeq
    const touch = this.touchDue() ? this.waitingTokens() : []
    if (touch.length > 0) this.lastTouch = Date.now()
    const reply = this.queue.readFeed(this.eventId, building ? '' : this.cursor, this.maxEntries, touch, [
      ...next.polled,
    ])
    reply.catch(() => {})
    const applied = this.chain.then(() => this.apply(seq, building, reply, next))
    this.chain = applied.catch(() => {})
    applied.then(
      (read) => next.resolve(read),
      (error: unknown) => {
        // Its heartbeats may not have been recorded: the streams' are due again at once.
        if (touch.length > 0) this.lastTouch = 0
        for (const waiter of next.waiters) waiter.reject(error)
        next.reject(error)
      },
    )
    applied
      .catch(() => {})
      .finally(() => {
        this.inFlight -= 1
        if (building) this.buildInFlight = false
        this.send()
      })
  }

  /**
   * Applies one read, in its turn (reads are applied in the order sent): brings the state
   * up to date, then answers the read's polls and, for a tick, feeds the streams.
   */
  private async apply(
    seq: number,
    building: boolean,
    reply: Promise<FeedRead | undefined>,
    next: NextRead,
  ): Promise<FeedRead | undefined> {
    let read = await reply
    if (!read) return this.finish(next, undefined)
    if (this.ranBefore(seq, read)) {
      // Ran before a read already applied (the feed read on its own meanwhile, or a client
      // retried it): that newer state answers, unless it is known to be gone.
      return this.finish(next, this.epoch === undefined ? undefined : this.lastRead)
    }
    this.idleMs = read.facts.waitingIdleMs ?? this.queue.settings.waitingIdleSeconds * 1000

    if (!building && read.epoch === this.epoch && !(read.drawn && !this.drawn)) {
      // Read on until the feed is caught up (the heartbeats went with the first read).
      for (let reads = 1; ; reads += 1) {
        const fresh = read.entries.filter((entry) => idAfter(entry.id, this.cursor))
        this.added += fresh.length
        const complete = read.entries.length < this.maxEntries
        // Fewer entries than were added up to here: some were trimmed before we read them.
        if (complete && this.added !== read.added) {
          this.epoch = undefined
          break
        }
        this.applyEntries(read, fresh)
        this.appliedSeq = seq
        this.lastRead = read
        this.caughtUp = complete
        if (complete || reads >= MAX_CATCH_UP_READS) break
        seq = ++this.sentSeq
        const more = await this.queue.readFeed(this.eventId, this.cursor, this.maxEntries)
        if (!more) return this.finish(next, undefined)
        if (more.epoch !== this.epoch || (more.drawn && !this.drawn)) {
          this.epoch = undefined
          break
        }
        read = more
      }
    } else if (!building) {
      this.epoch = undefined
    }
    if (this.epoch === undefined) {
      if (!building) {
        seq = ++this.sentSeq
        read = await this.queue.readFeed(this.eventId, '', this.maxEntries)
        if (!read) return this.finish(next, undefined)
      }
      this.reset(read)
      this.appliedSeq = seq
      this.lastRead = read
    }

    await this.recheckPlaces()
    if (!(await this.walk(next.tick ? Number.POSITIVE_INFINITY : 1))) return this.finish(next, undefined)
    return this.finish(next, read)
  }

  /**
   * Whether a reply ran in Redis before the state already applied: it was sent before the
   * newest read applied (one connection runs commands in the order sent), or, should a
   * client have retried it out of order (Redis Cluster retries some failures after a
   * delay), what it read is older: an earlier Redis clock or a lower head, which only
   * rises within an epoch once the pre-queue is drawn. While it is drawn (PRE_QUEUE until
   * the last slice), fans move a slice at a time (pre-queue-draw.ts): a read between two
   * slices can see a head that the end of the draw lowers again.
   */
  private ranBefore(seq: number, read: FeedRead): boolean {
    if (seq < this.appliedSeq) return true
    const last = this.lastRead
    if (!last || this.epoch === undefined || read.epoch !== this.epoch) return false
    if (read.facts.now < last.facts.now) return true
    if (read.facts.saleState === 'PRE_QUEUE' || last.facts.saleState === 'PRE_QUEUE') return false
    return read.head !== null && this.head !== null && read.head < this.head
  }

  /** Answers the read's polls (and feeds the streams, for a tick) from the state now: no await in between. */
  private finish(next: NextRead, read: FeedRead | undefined): FeedRead | undefined {
    for (const waiter of next.waiters) waiter.resolve(read ? this.answer(waiter.entry, read) : undefined)
    if (read && next.tick) this.deliver(read)
    return read
  }

  /** The ticket for a polled token from the state now, or undefined when the state cannot vouch for it. */
  private answer(entry: Polled, read: FeedRead): Ticket | undefined {
    if (this.polled.get(entry.state.token) !== entry) return undefined
    const head = this.head
    const place = entry.state.place
    if (!entry.confirmed || entry.epoch !== this.epoch || head === null || place < head) {
      // Admitted, gone or moved (below the head), or not vouched for: the poll script tells.
      this.dropPolled(entry)
      return undefined
    }
    // Gaps not known that far back yet, or found by a walk that ran after this state's read
    // (they may count places that stopped waiting since), or entries still unread: the script.
    if (place > this.walkedTo || !this.caughtUp || this.walkedAfter(place) > this.appliedSeq) return undefined
    return this.queue.ticketAt(entry.state, read.facts, this.positionOf(place, head) - 1)
  }

  /**
   * Answers polls of a WAITING token from now on: `read` is what a poll of it just
   * answered (queue.follow). Its place is confirmed by the next read.
   */
  followPoll(read: TokenRead): void {
    const { state } = read
    if (state.status !== 'WAITING' || this.polled.has(state.token)) return
    const entry: Polled = { state, epoch: read.epoch, confirmed: false, polledAt: Date.now() }
    this.polled.set(state.token, entry)
    this.unconfirmed.add(entry)
    if (state.place > this.farthestPolled) this.farthestPolled = state.place
  }

  private dropPolled(entry: Polled): void {
    if (this.polled.get(entry.state.token) === entry) this.polled.delete(entry.state.token)
    this.unconfirmed.delete(entry)
  }

  /**
   * The ticket a poll of `token` answers, from a read that began after this call, and
   * the token recorded as seen by it; undefined when this copy does not follow the
   * token or the read cannot vouch for it (then poll Redis: queue.follow).
   */
  poll(token: string): Promise<Ticket | undefined> {
    const entry = this.polled.get(token)
    if (!entry) return Promise.resolve(undefined)
    const next = this.upcoming()
    if (next.polled.size >= MAX_POLLS_PER_READ) return Promise.resolve(undefined)
    entry.polledAt = Date.now()
    next.polled.add(token)
    return new Promise((resolve, reject) => next.waiters.push({ entry, resolve, reject }))
  }

  /** Stops following polled tokens not polled within the event's idle window (a fan so quiet is dropped anyway). */
  forgetQuietPolls(now: number): void {
    const before = now - this.idleMs
    for (const entry of this.polled.values()) if (entry.polledAt < before) this.dropPolled(entry)
  }

  private touchDue(): boolean {
    // Inside the idle window several times over, like a poller following pollAfterMs.
    return Date.now() - this.lastTouch >= Math.min(10_000, this.idleMs / 3)
  }

  private waitingTokens(): string[] {
    const tokens = new Set<string>()
    for (const entry of this.followed.values())
      if (entry.state.status === 'WAITING') tokens.add(entry.state.token)
    return [...tokens]
  }

  private reset(read: FeedRead): void {
    this.epoch = read.epoch
    this.drawn = read.drawn
    this.cursor = read.lastId
    this.added = read.added
    this.head = read.head
    this.gaps = []
    this.walkedTo = 0
    this.walkEnds = []
    this.walkSeqs = []
    for (const entry of this.followed.values()) entry.recheck = true
    // Polled tokens of another epoch cannot be answered from this one: their next poll reads
    // them again. The others are confirmed again (their places, by the same ZMSCORE as the streams').
    this.farthestPolled = 0
    this.caughtUp = true
    for (const entry of this.polled.values()) {
      if (entry.epoch !== read.epoch) {
        this.dropPolled(entry)
        continue
      }
      entry.confirmed = false
      this.unconfirmed.add(entry)
      if (entry.state.place > this.farthestPolled) this.farthestPolled = entry.state.place
    }
  }

  /** A read's head and facts, and its entries not applied yet (`entries`, after the cursor). */
  private applyEntries(read: FeedRead, entries: FeedRead['entries']): void {
    if (idAfter(read.lastId, this.cursor)) this.cursor = read.lastId
    this.drawn = read.drawn
    this.head = read.head
    const fresh: number[] = []
    const expired = new Set<string>()
    for (const { token, place } of entries) {
      if (place !== null) fresh.push(place)
      expired.add(token)
    }
    // No index by token: entries are few per tick, and one pass over the followers is cheap.
    if (expired.size > 0) {
      for (const entry of this.followed.values()) if (expired.has(entry.state.token)) this.readStatus(entry)
      for (const token of expired) {
        const entry = this.polled.get(token)
        if (entry) this.dropPolled(entry)
      }
    }
    this.gaps = mergeSorted(
      this.gaps,
      fresh.sort((a, b) => a - b),
    )
    if (this.head !== null) {
      const passed = lowerBound(this.gaps, this.head)
      if (passed > 0) this.gaps = this.gaps.slice(passed)
    }
  }

  /** New followers and, after a rebuild, all, and polled tokens not confirmed yet: their places now (ZMSCORE). */
  private async recheckPlaces(): Promise<void> {
    const entries = [...this.followed.values()].filter((entry) => entry.recheck)
    const polled = [...this.unconfirmed]
    if (entries.length === 0 && polled.length === 0) return
    const places = await this.queue.waitingPlaces(this.eventId, [
      ...entries.map((entry) => entry.state.token),
      ...polled.map((entry) => entry.state.token),
    ])
    entries.forEach((entry, i) => {
      entry.recheck = false
      const place = places[i] ?? null
      // Not waiting where it was, or waiting again: read it. A READY token is never in the
      // waiting zset, so its change (a leave, an expiry) is read too: after a rebuild its
      // feed entry may be gone (trimmed before this copy read it, or another epoch's).
      if (place === null || entry.state.status !== 'WAITING') this.readStatus(entry)
      else entry.state = { ...entry.state, place }
    })
    polled.forEach((entry, i) => {
      // Still waiting at the place its poll read: any change from here on is in the feed.
      if (places[entries.length + i] === entry.state.place) {
        entry.confirmed = true
        this.unconfirmed.delete(entry)
      } else this.dropPolled(entry)
    })
  }

  /**
   * Finds the gaps up to the farthest place followed (a stream's or a polled token's) not
   * walked yet, at most `slices` holes-2 calls; false if the epoch changed meanwhile.
   */
  private async walk(slices: number): Promise<boolean> {
    if (this.head === null) return true
    let target = this.farthestPolled
    for (const entry of this.followed.values())
      if (entry.state.status === 'WAITING' && entry.state.place > target) target = entry.state.place
    let from = Math.max(this.walkedTo + 1, this.head)
    for (let walked = 0; from <= target && walked < slices; walked += 1) {
      const to = Math.min(target, from + this.walkSlice - 1)
      const walkSeq = ++this.sentSeq
      const holes = await this.queue.holes(this.eventId, from, to)
      if (!holes || holes.epoch !== this.epoch) {
        this.epoch = undefined
        return false
      }
      const found: number[] = []
      for (let i = 0; i + 1 < holes.ranges.length; i += 2) {
        for (let p = holes.ranges[i] as number; p <= (holes.ranges[i + 1] as number); p += 1) found.push(p)
      }
      this.gaps = mergeSorted(this.gaps, found)
      this.walkEnds.push(to)
      this.walkSeqs.push(walkSeq)
      this.walkedTo = to
      from = to + 1
    }
    return true
  }

  private deliver(read: FeedRead): void {
    const head = this.head
    const now = Date.now()
    for (const entry of this.followed.values()) {
      // Added while this tick ran: its place is confirmed, and the gaps up to it found, next tick.
      if (this.reading.has(entry) || entry.recheck) continue
      const { state } = entry
      if (state.status === 'WAITING') {
        // Below the head (or nobody waits): admitted or gone, read it.
        if (head === null || state.place < head) this.readStatus(entry)
        // Past the walk, or in a slice walked after this read (its gaps may be newer than the
        // head): the next tick.
        else if (
          state.place > this.walkedTo ||
          this.walkedAfter(state.place) > this.appliedSeq ||
          entry.follower.due?.(now) === false
        )
          continue
        else
          entry.follower.deliver(
            this.queue.ticketAt(state, read.facts, this.positionOf(state.place, head) - 1),
            false,
          )
      } else if (state.status === 'READY' && entry.follower.due?.(now) !== false) {
        entry.follower.deliver(this.queue.ticketAt(state, read.facts, null), false)
      }
    }
  }

  /**
   * Reads one follower's token on its own: only when its status changed, rare per stream.
   * A read may wait for MySQL (a state told before the mirror wrote it is written first),
   * so its answer can be older than a change seen meanwhile: that one is read after it.
   * A failed read is made again at the next tick (as a recheck).
   */
  private readStatus(entry: Followed): void {
    if (this.reading.has(entry)) {
      this.readAgain.add(entry)
      return
    }
    this.reading.add(entry)
    this.queue
      .follow(entry.state.token)
      .then((result) => {
        if (!this.followed.has(entry.follower)) return
        if (!result) return entry.follower.gone()
        entry.state = result.state
        entry.follower.deliver(result.ticket, true)
      })
      .catch((error: unknown) => {
        entry.recheck = true
        this.options.onError?.(error)
      })
      .finally(() => {
        this.reading.delete(entry)
        if (this.readAgain.delete(entry) && this.followed.has(entry.follower)) this.readStatus(entry)
      })
  }
}
