/**
 * Calls gathered per key (an event's scripts) during one turn of the event loop and
 * sent together, as one script: a burst of requests that each need one small script
 * (a token check, a purchase's start) costs one write and one script run, not one per
 * request. Every call is sent after it was asked for (its batch goes out at the end of
 * the turn it joined, setImmediate), so it reads what was written before it; a full
 * batch (`max` items) goes at once and the next call starts another.
 */
export class TurnBatches<Item, Result> {
  private readonly open = new Map<string, Batch<Item, Result>>()

  /**
   * `send` runs one batch: one result per item, in order, or a throw that fails every
   * item of the batch.
   */
  constructor(
    private readonly send: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly max: number,
  ) {}

  /** `item`'s result, from the batch of `key` this turn. */
  add(key: string, item: Item): Promise<Result> {
    let batch = this.open.get(key)
    if (!batch) {
      const created: Batch<Item, Result> = { items: [], waiters: [], sent: false }
      batch = created
      this.open.set(key, created)
      setImmediate(() => this.flush(key, created))
    }
    batch.items.push(item)
    const result = new Promise<Result>((resolve, reject) => batch.waiters.push({ resolve, reject }))
    if (batch.items.length >= this.max) this.flush(key, batch)
    return result
  }

  private flush(key: string, batch: Batch<Item, Result>): void {
    if (this.open.get(key) === batch) this.open.delete(key)
    if (batch.sent) return
    batch.sent = true
    const rejectAll = (error: unknown) => {
      for (const waiter of batch.waiters) waiter.reject(error)
    }
    // Through a promise chain, so a send that throws, or an answer that is not a list,
    // still settles every waiter (a settled waiter ignores a second settling).
    Promise.resolve()
      .then(() => this.send(batch.items))
      .then((results) => {
        batch.waiters.forEach((waiter, i) => {
          // A batch answered short is a fault of send, not a result of undefined.
          if (i < results.length) waiter.resolve(results[i] as Result)
          else waiter.reject(new Error(`batch answered ${results.length} of ${batch.items.length} items`))
        })
      })
      .catch(rejectAll)
  }
}

interface Batch<Item, Result> {
  items: Item[]
  waiters: Array<{ resolve: (result: Result) => void; reject: (error: unknown) => void }>
  sent: boolean
}
