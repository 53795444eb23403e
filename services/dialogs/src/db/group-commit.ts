/**
 * Group commit: writes that arrive together share one transaction, so its round trips and its
 * `COMMIT` (the redo log's fsync) are paid once for all of them (docs/decisions.md §27).
 *
 * `run(key, fn)` queues a write flow; one group at a time per process takes the oldest queued flows
 * (up to `maxMembers`, and `maxPerKey` of one key) into one pipelined transaction (sql.ts `TxSql`, shared: a round trip waits for
 * the end of the event loop's turn, so the statements of every member that is ready travel
 * together). Members of different keys (dialogs) run side by side; members of one key run one
 * after the other in arrival order, each seeing the writes of the one before (same transaction), so
 * a dialog's messages keep their order and their dense positions. A member that calls
 * `sql.handoff()` (its writes the next one reads are queued) lets the next one of its key start
 * then: the next one's first statements ride with its last reads instead of waiting a round trip. A flow waiting here holds no
 * pooled connection: a busy dialog's writers queue in the process, not at its row lock.
 *
 * Errors stay per request:
 * - a member that fails with a domain error (`ParleyError`) before it wrote anything fails alone:
 *   its reads and locks changed nothing, and the group commits the others;
 * - any other failure (an SQL error fails the whole round trip; a member failing after a write) rolls
 *   the group back, and every member runs again alone (`inTransaction`, with its deadlock retries),
 *   in the same per-key order. A flow must therefore be re-runnable, as every flow given to
 *   `inTransaction` already is.
 * A lone member (nothing else queued) runs alone from the start: no cost when the service is idle.
 */
import { ParleyError } from '@parley/protocol';
import type { DataSource } from 'typeorm';
import { type ExecResult, inTransaction, openTransaction, type TxSql } from './sql.js';

export type WriteFlow<T> = (sql: TxSql) => Promise<T>;

export interface GroupCommit {
  /** run `fn` in a transaction shared with other writes queued at the same time (see above) */
  run<T>(key: number, fn: WriteFlow<T>): Promise<T>;
}

export interface GroupCommitStats {
  /** a group of `members` committed together */
  committed?(members: number): void;
  /** a group of `members` rolled back; they ran again alone */
  fellBack?(members: number): void;
}

interface Member {
  key: number;
  fn: WriteFlow<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown; wrote: boolean };

/** statements that change nothing (reads, locking reads): a member that only ran these may fail alone */
const READ_ONLY = /^\s*\(?\s*SELECT\b/i;

/** the member's face of the shared transaction: every statement goes to it, writes are noted */
function memberSql(tx: TxSql, handoff: () => void): { sql: TxSql; wrote(): boolean } {
  let wrote = false;
  const note = (sql: string) => {
    if (!wrote && !READ_ONLY.test(sql)) wrote = true;
  };
  const sql: TxSql = {
    later: <T>(q: string, params?: unknown[]) => {
      note(q);
      return tx.later<T>(q, params);
    },
    write: (q: string, params?: unknown[]) => {
      note(q);
      tx.write(q, params);
    },
    rows: <T>(q: string, params?: unknown[]) => {
      note(q);
      return tx.rows<T>(q, params);
    },
    one: <T>(q: string, params?: unknown[]) => {
      note(q);
      return tx.one<T>(q, params);
    },
    exec: (q: string, params?: unknown[]): Promise<ExecResult> => {
      note(q);
      return tx.exec(q, params);
    },
    handoff,
  };
  return { sql, wrote: () => wrote };
}

/** members grouped by key, each key's members in arrival order */
function chainsOf(members: Member[]): Member[][] {
  const byKey = new Map<number, Member[]>();
  for (const m of members) {
    const chain = byKey.get(m.key);
    if (chain) chain.push(m);
    else byKey.set(m.key, [m]);
  }
  // ascending keys: the groups of several instances take their first locks (the dialog rows, in
  // the first round trip) in one order
  return [...byKey.entries()].sort((a, b) => a[0] - b[0]).map(([, chain]) => chain);
}

export function createGroupCommit(
  ds: DataSource,
  opts: {
    maxMembers: number;
    /** flows of one key in one group (they run one after the other: a long chain delays the group) */
    maxPerKey?: number;
    stats?: GroupCommitStats;
  },
): GroupCommit {
  const maxMembers = Math.max(1, opts.maxMembers);
  const maxPerKey = Math.max(1, opts.maxPerKey ?? 4);
  let queued: Member[] = [];
  let busy = false;

  /** every member alone, each key's in order (after a rollback, or a group of one) */
  const alone = (members: Member[]) =>
    Promise.all(
      chainsOf(members).map(async (chain) => {
        for (const m of chain) await inTransaction(ds, m.fn).then(m.resolve, m.reject);
      }),
    );

  const together = async (members: Member[]): Promise<void> => {
    let open: Awaited<ReturnType<typeof openTransaction>>;
    try {
      open = await openTransaction(ds, true);
    } catch {
      await alone(members); // no connection now: each member meets the same failure on its own
      return;
    }
    const outcomes = new Map<Member, Outcome>();
    let broken = false;
    await Promise.all(
      chainsOf(members).map(async (chain) => {
        const started: Promise<void>[] = [];
        for (const m of chain) {
          if (broken) break;
          // the next member of this key starts when this one settled or handed off (its writes the
          // next one reads are queued: the next one's statements go after them)
          let next!: () => void;
          const turn = new Promise<void>((resolve) => {
            next = resolve;
          });
          const face = memberSql(open.tx, () => queueMicrotask(next));
          started.push(
            m.fn(face.sql).then(
              (value) => {
                outcomes.set(m, { ok: true, value });
              },
              (err: unknown) => {
                const wrote = face.wrote();
                outcomes.set(m, { ok: false, err, wrote });
                // a domain refusal before any write leaves the transaction as it was; anything
                // else (an SQL error fails every statement of its round trip) sends the group back
                if (wrote || !(err instanceof ParleyError)) broken = true;
              },
            ),
          );
          void started[started.length - 1]?.finally(next);
          await turn;
        }
        await Promise.all(started);
      }),
    );
    let committed = false;
    if (!broken) {
      try {
        await open.end(true);
        committed = true;
      } catch {
        // the commit failed: nothing of the group is stored
      }
    } else {
      await open.end(false);
    }
    if (!committed) {
      opts.stats?.fellBack?.(members.length);
      await alone(members);
      return;
    }
    opts.stats?.committed?.(members.length);
    for (const m of members) {
      const o = outcomes.get(m) as Outcome;
      if (o.ok) m.resolve(o.value);
      else m.reject(o.err);
    }
  };

  /** the next group: the oldest queued flows, at most `maxPerKey` of one key (the rest keep their place) */
  const take = (): Member[] => {
    const members: Member[] = [];
    const left: Member[] = [];
    const perKey = new Map<number, number>();
    for (const m of queued) {
      const n = perKey.get(m.key) ?? 0;
      if (members.length < maxMembers && n < maxPerKey) {
        members.push(m);
        perKey.set(m.key, n + 1);
      } else left.push(m);
    }
    queued = left;
    return members;
  };

  const next = () => {
    if (busy || queued.length === 0) return;
    busy = true;
    const members = take();
    const done = members.length === 1 ? alone(members) : together(members);
    done
      .catch(() => undefined) // every member's promise is settled by then
      .finally(() => {
        busy = false;
        next();
      });
  };

  return {
    run<T>(key: number, fn: WriteFlow<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queued.push({ key, fn, resolve: resolve as (v: unknown) => void, reject });
        next();
      });
    },
  };
}
