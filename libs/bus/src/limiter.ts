/** A counting semaphore: bounds how many handlers run at once in one process. */
export class Limiter {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  /** run `fn` in a slot: waits for one, gives it back (or straight to the next in line) after */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** resolves once nothing runs */
  async idle(): Promise<void> {
    while (this.active > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
