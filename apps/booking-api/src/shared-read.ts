/**
 * One read (of Redis) shared by the callers that asked while the previous one was out.
 *
 * Each caller gets the result of a read started after it asked, never one already on
 * its way: that read may have been answered before a change the caller knows of (a
 * change is answered to its author only after its write), and the catalogue caches
 * promise that an answered change is seen by the next request (catalog-cache.ts).
 * With no read out, one starts at once; with one out, the callers wait for it and share
 * the next, which starts when it ends or after `waitMaxMs` (a slow or silent Redis
 * holds them back only so long). So a burst of requests makes a few reads instead of
 * one each: a read is a Redis command and a socket write on both sides, several times
 * the cost of answering from memory.
 */
export class SharedRead<V> {
  private out: Promise<V> | undefined
  private next: Promise<V> | undefined

  constructor(
    private readonly read: () => Promise<V>,
    private readonly waitMaxMs = 20,
  ) {}

  get(): Promise<V> {
    const out = this.out
    if (!out) return this.start()
    if (!this.next) {
      this.next = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.waitMaxMs)
        const go = () => {
          clearTimeout(timer)
          resolve()
        }
        out.then(go, go)
      }).then(() => {
        this.next = undefined
        return this.start()
      })
    }
    return this.next
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
