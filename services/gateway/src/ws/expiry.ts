/**
 * Token expiry of every socket of this gateway on one timer: sockets are kept in buckets by their
 * token's `exp` (whole seconds, so sockets share buckets) and a single timeout is armed for the
 * earliest bucket. A timer per socket would cost a Timeout (and, for distinct delays, a timer list)
 * per idle connection.
 */

export interface Expiring {
  /** the token's `exp` passed */
  expire(): void;
}

export interface ExpiryScheduler {
  /** call `item.expire()` once `exp` (seconds since the epoch) has passed; at once when it already has */
  add(exp: number, item: Expiring): void;
  remove(exp: number, item: Expiring): void;
  stop(): void;
}

/** setTimeout cannot wait longer than this (longer delays fire at once) */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createExpiryScheduler(now: () => number = Date.now): ExpiryScheduler {
  const buckets = new Map<number, Set<Expiring>>();
  /** the keys of `buckets`, ascending */
  const order: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let armedFor: number | undefined;

  const insertKey = (exp: number) => {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]! < exp) lo = mid + 1;
      else hi = mid;
    }
    order.splice(lo, 0, exp);
  };

  const removeKey = (exp: number) => {
    const i = order.indexOf(exp);
    if (i >= 0) order.splice(i, 1);
  };

  const arm = () => {
    const next = order[0];
    if (next === armedFor && timer) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    armedFor = next;
    if (next === undefined) return;
    timer = setTimeout(fire, Math.min(Math.max(next * 1000 - now(), 0), MAX_TIMER_MS));
    timer.unref();
  };

  function fire() {
    timer = undefined;
    armedFor = undefined;
    const t = now();
    while (order.length && order[0]! * 1000 <= t) {
      const exp = order.shift()!;
      const items = buckets.get(exp);
      buckets.delete(exp);
      for (const item of items ?? []) item.expire();
    }
    arm();
  }

  return {
    add(exp, item) {
      if (exp * 1000 <= now()) {
        item.expire();
        return;
      }
      let bucket = buckets.get(exp);
      if (!bucket) {
        bucket = new Set();
        buckets.set(exp, bucket);
        insertKey(exp);
        arm();
      }
      bucket.add(item);
    },
    remove(exp, item) {
      const bucket = buckets.get(exp);
      if (!bucket?.delete(item) || bucket.size) return;
      buckets.delete(exp);
      removeKey(exp);
      arm();
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      armedFor = undefined;
      buckets.clear();
      order.length = 0;
    },
  };
}
