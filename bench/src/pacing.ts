/** How load is paced: bounded concurrency, open-loop fixed rate, sleeps. Every loop here ends by count and by time. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run `task` over `items` with at most `limit` in flight; rejects on the first error. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Open loop: call `send(k)` for k = 0, 1, … at `perSec` on average (a 5 ms tick sends whatever is due),
 * until `total` were sent or `maxMs` passed. The sender never waits for answers.
 */
export async function offerAtRate(
  perSec: number,
  total: number,
  maxMs: number,
  send: (k: number) => void,
): Promise<{ sent: number; ms: number }> {
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const elapsed = performance.now() - start;
    if (elapsed > maxMs) break;
    const due = Math.min(total, Math.floor((elapsed / 1000) * perSec) + 1);
    while (sent < due) send(sent++);
    await sleep(5);
  }
  return { sent, ms: performance.now() - start };
}

/** Closed loop per worker: each of `workers` awaits `op` again and again until `maxOps` in all or `ms` passed. */
export async function closedLoop(
  workers: number,
  ms: number,
  maxOps: number,
  op: (worker: number) => Promise<void>,
): Promise<{ done: number; ms: number }> {
  const start = performance.now();
  let started = 0;
  let done = 0;
  const run = async (w: number) => {
    while (started < maxOps && performance.now() - start < ms) {
      started++;
      await op(w);
      done++;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => run(w)));
  return { done, ms: performance.now() - start };
}
