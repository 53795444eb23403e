/**
 * The one state a dialogs process must not keep serving in: its schema is gone
 * (a table or the database dropped under it). Every request would fail the same
 * way and the relay would spin; no input can cause it (table names never come
 * from a request), so ending the process is not "an input ends a process". The
 * process migrates at start, so a restart (by the supervisor) recreates what
 * is missing. Everything else a handler throws stays request-scoped: `internal`.
 */
import type { Handler, HandlerTable } from '@parley/bus';
import type { RpcCommand } from '@parley/protocol';
import { driverErrno } from './db/sql.js';

const SCHEMA_GONE = new Map([
  [1146, 'ER_NO_SUCH_TABLE'],
  [1049, 'ER_BAD_DB_ERROR'],
]);

/** A sentence when `err` says the database or one of its tables does not exist, else undefined. */
export function schemaMissing(err: unknown): string | undefined {
  const errno = driverErrno(err);
  const code = errno === undefined ? undefined : SCHEMA_GONE.get(errno);
  if (!code) return undefined;
  return `the database schema is missing (${code}); exiting so that a restart runs the migrations`;
}

/** Called with that sentence and the error; main.ts ends the process, tests may watch. */
export type OnFatal = (reason: string, err: unknown) => void;

/** The handler table with every handler reporting a missing schema to `onFatal` (then failing as before). */
export function reportSchemaMissing<T extends HandlerTable>(table: T, onFatal: OnFatal): T {
  const out: HandlerTable = {};
  for (const command of Object.keys(table) as RpcCommand[]) {
    const handler = table[command] as Handler<RpcCommand>;
    (out as Record<string, Handler<RpcCommand>>)[command] = async (req, hctx) => {
      try {
        return await handler(req, hctx);
      } catch (err) {
        const reason = schemaMissing(err);
        if (reason) onFatal(reason, err);
        throw err;
      }
    };
  }
  return out as T;
}
