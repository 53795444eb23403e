/**
 * The one retry loop of the services: exponential backoff with full jitter, forever (or until
 * `signal` aborts or `attempts` run out), a log line per failure. Start-up uses it so a service
 * that starts while NATS, one of its nodes, or the database is unreachable waits instead of
 * exiting; a JetStream API timeout while a cluster elects a leader is just another failed attempt.
 */
import type { Logger } from '@parley/logger';

export interface RetryOptions {
  /** what is being tried, for the log */
  what: string;
  logger: Logger;
  /** first delay, ms; default 200 */
  minMs?: number;
  /** longest delay, ms; default 5 s */
  maxMs?: number;
  /** give up after this many attempts (the last error is thrown); default: never */
  attempts?: number;
  /** stop retrying (the last error, or an abort error, is thrown) */
  signal?: AbortSignal;
  /** errors that must not be retried (a bad configuration): thrown at once */
  isFatal?: (err: unknown) => boolean;
}

/** delay before attempt `n` (1 = the first retry): full jitter under an exponential cap */
function backoffDelay(n: number, minMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(n - 1, 20));
  return Math.max(minMs, Math.round(Math.random() * cap));
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const minMs = opts.minMs ?? 200;
  const maxMs = opts.maxMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.isFatal?.(err) || opts.signal?.aborted || (opts.attempts && attempt >= opts.attempts))
        throw err;
      const delay = backoffDelay(attempt, minMs, maxMs);
      opts.logger.warn({ err, attempt, retry_in_ms: delay }, `${opts.what} failed; retrying`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, delay);
        function done() {
          clearTimeout(t);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        }
        opts.signal?.addEventListener('abort', done, { once: true });
      });
      if (opts.signal?.aborted) throw err;
    }
  }
}
