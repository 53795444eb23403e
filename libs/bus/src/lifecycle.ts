/** What every service's app factory returns, and the signal wiring every main.ts shares. */
import type { Logger } from '@parley/logger';

export interface Service {
  /** subscribe, listen, start loops */
  start(): Promise<void>;
  /** stop taking work, finish what is in flight, release resources (not the NATS connection) */
  stop(): Promise<void>;
}

/**
 * For main.ts: on SIGTERM/SIGINT run `shutdown` once (bounded by `graceMs`) and
 * exit 0; a second signal or a timeout exits 1.
 */
export function onShutdownSignals(logger: Logger, shutdown: () => Promise<void>, graceMs = 15_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, graceMs);
    timer.unref();
    shutdown()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
