/**
 * The process-level boundary every `main.ts` installs. Requests, connections
 * and events catch their own failures where they happen (the bus's handler
 * wrapper, the consumers, the gateway's connection actor); what still reaches
 * `uncaughtException` or `unhandledRejection` escaped every scope, so the
 * process's state is unknown: it logs ONE fatal line and exits non-zero, and
 * the supervisor starts a clean one. A service may also name states it cannot
 * work in (dialogs: its schema is gone) and end through `fatal` with a clear
 * sentence. The line carries the error's type, code, message and stack only —
 * never its other properties (a driver error holds the SQL and its parameters,
 * that is, message bodies). It is written synchronously to stdout (the
 * service's own stream writes asynchronously and loses what is in flight at
 * `process.exit`), and nothing runs after it: the exit is immediate, so no
 * other line follows it. A line the service logged just before may be lost.
 */
import { type Logger, pino } from 'pino';

export interface LastResortOptions {
  /** a sentence for errors that mean this process cannot work at all (e.g. its schema is missing) */
  explain?: (err: unknown) => string | undefined;
}

export interface LastResort {
  /** log one fatal line (`reason` and a summary of `err`) and exit 1; later calls do nothing */
  fatal(reason: string, err?: unknown): void;
}

/** What of an error may be logged: type, code/errno, message, stack (not the SQL or its parameters). */
export function errorSummary(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err).slice(0, 500) };
  const e = err as Error & { code?: unknown; errno?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: e.message, stack: e.stack };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.errno === 'number') out.errno = e.errno;
  return out;
}

let installed: LastResort | undefined;

export function installLastResort(logger: Logger, name: string, opts: LastResortOptions = {}): LastResort {
  if (installed) return installed;
  // made now, not when things are already failing: same fields as the service's lines, synchronous stdout
  const line = pino(
    {
      level: 'fatal',
      base: { ...logger.bindings(), pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: true }),
  );
  let ended = false;
  const fatal = (reason: string, err?: unknown) => {
    if (ended) return;
    ended = true;
    line.fatal(
      { process: name, ...(err === undefined ? {} : { error: errorSummary(err) }) },
      `${name}: ${reason}`,
    );
    process.exit(1);
  };
  process.on('uncaughtException', (err, origin) => {
    fatal(
      opts.explain?.(err) ??
        (origin === 'unhandledRejection'
          ? 'unhandled promise rejection; state unknown, exiting'
          : 'uncaught exception; state unknown, exiting'),
      err,
    );
  });
  process.on('unhandledRejection', (reason) => {
    fatal(opts.explain?.(reason) ?? 'unhandled promise rejection; state unknown, exiting', reason);
  });
  installed = { fatal };
  return installed;
}
