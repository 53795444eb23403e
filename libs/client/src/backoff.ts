/** Reconnect delays: exponential, capped, with full jitter in its upper half so clients spread out. */

export interface BackoffOptions {
  /** delay before the first retry, ms (default 500) */
  initialMs?: number;
  /** the cap, ms (default 15 000) */
  maxMs?: number;
}

/** Delay before retry number `attempt` (0-based): between half and all of min(max, initial·2^attempt). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random) {
  const initial = opts.initialMs ?? 500;
  const max = opts.maxMs ?? 15_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}
