/**
 * A counting semaphore: at most `limit` holders at once, waiters served in
 * arrival order. A waiter whose signal aborts leaves the queue.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: { grant: () => void; fail: (err: unknown) => void }[] = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`parallelism must be at least 1 (got ${limit})`);
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: reject,
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays as is.
      if (next) next.grant();
      else this.active--;
    };
  }
}
