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

/** A `Limiter` per key, made on first use and dropped once nothing of that key runs or waits. */
export interface KeyedLimiter<K> {
  /** run `fn` once fewer than `max` earlier runs of `key` are running (in call order) */
  run<T>(key: K, fn: () => Promise<T>): Promise<T>;
  /** keys with a run running or waiting */
  size(): number;
}

export function createKeyedLimiter<K>(max: number): KeyedLimiter<K> {
  const keys = new Map<K, { limiter: Limiter; runs: number }>();
  return {
    async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
      let k = keys.get(key);
      if (!k) {
        k = { limiter: new Limiter(max), runs: 0 };
        keys.set(key, k);
      }
      k.runs++;
      try {
        return await k.limiter.run(fn);
      } finally {
        if (--k.runs === 0) keys.delete(key);
      }
    },
    size: () => keys.size,
  };
}
