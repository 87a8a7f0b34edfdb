/**
 * A de-duplicating serial work queue, as controllers use: a key queued
 * while pending runs once; failures are retried with a short backoff.
 */
export class WorkQueue {
  private readonly pending = new Map<string, () => Promise<void>>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  add(key: string, work: () => Promise<void>): void {
    if (this.stopped) return;
    this.pending.set(key, work);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    let failures = 0;
    while (this.pending.size && !this.stopped) {
      const [key, work] = this.pending.entries().next().value as [string, () => Promise<void>];
      this.pending.delete(key);
      try {
        await work();
        failures = 0;
      } catch {
        // Retry later: the object may have changed under us (conflict) or be mid-deletion.
        failures++;
        if (failures < 20) {
          setTimeout(() => this.add(key, work), 50 * failures).unref();
        }
      }
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }
}
