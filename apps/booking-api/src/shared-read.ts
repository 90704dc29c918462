/**
 * One read (of Redis) shared by the callers that asked while the previous one was out.
 *
 * Each caller gets the result of a read started after it asked, never one already on
 * its way: that read may have been answered before a change the caller knows of (a
 * change is answered to its author only after its write), and the catalogue caches
 * promise that an answered change is seen by the next request (catalog-cache.ts).
 * With no read out, one starts at once; with one out, the callers wait for it and share
 * the next, which starts when it ends or after `waitMaxMs`: a slow Redis delays them
 * by at most that much more than its own answer (a silent one still takes the client's
 * command timeout, as any read does), and several reads are then out at once. So a
 * burst of requests makes a few reads instead of one each: a read is a Redis command
 * and a socket write on both sides, several times the cost of answering from memory.
 */
export class SharedRead<V> {
  private out: Promise<V> | undefined
  private next: Promise<V> | undefined

  constructor(
    private readonly read: () => Promise<V>,
    private readonly waitMaxMs = 20,
  ) {}

  get(): Promise<V> {
    // A next read not started yet (its wait may just have ended) still starts after us.
    if (this.next) return this.next
    const out = this.out
    if (!out) return this.start()
    const next = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.waitMaxMs)
      timer.unref()
      const go = () => {
        clearTimeout(timer)
        resolve()
      }
      out.then(go, go)
    }).then(() => {
      this.next = undefined
      return this.start()
    })
    this.next = next
    return next
  }

  private start(): Promise<V> {
    const read = this.read()
    this.out = read
    const done = () => {
      if (this.out === read) this.out = undefined
    }
    read.then(done, done)
    return read
  }
}
