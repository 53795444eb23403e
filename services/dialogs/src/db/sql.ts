/**
 * A thin typed face over raw SQL on a TypeORM QueryRunner or DataSource, and
 * the transaction wrapper every write uses: READ COMMITTED (locking reads and
 * counters see the latest committed rows), several statements per round trip
 * (`TxSql`) and a bounded retry on deadlock or lock-wait timeout.
 */
import type { DataSource, QueryRunner } from 'typeorm';

export interface ExecResult {
  insertId: number;
  affectedRows: number;
}

export interface Sql {
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  one<T>(sql: string, params?: unknown[]): Promise<T | undefined>;
  exec(sql: string, params?: unknown[]): Promise<ExecResult>;
}

type Runner = Pick<QueryRunner, 'query'> | Pick<DataSource, 'query'>;

export function sqlOf(runner: Runner): Sql {
  return {
    rows: async <T>(sql: string, params: unknown[] = []) => (await runner.query(sql, params)) as T[],
    one: async <T>(sql: string, params: unknown[] = []) => ((await runner.query(sql, params)) as T[])[0],
    exec: async (sql: string, params: unknown[] = []) => {
      const r = (await runner.query(sql, params)) as Partial<ExecResult>;
      return { insertId: Number(r.insertId ?? 0), affectedRows: Number(r.affectedRows ?? 0) };
    },
  };
}

const RETRYABLE_ERRNO = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);

export function driverErrno(err: unknown): number | undefined {
  const e = err as { errno?: unknown; driverError?: { errno?: unknown } } | null;
  const n = e?.driverError?.errno ?? e?.errno;
  return typeof n === 'number' ? n : undefined;
}

export function isDuplicateKey(err: unknown): boolean {
  return driverErrno(err) === 1062;
}

/**
 * Pool connections whose session isolation level is already READ COMMITTED:
 * their transactions then start with one statement instead of two (mysql2
 * keeps session state across pool checkouts; a reconnect is a new object).
 */
const readCommittedSessions = new WeakSet<object>();

/**
 * The SQL of one transaction, pipelined: statements are queued and sent to the server several in one
 * round trip (mysql2 `multipleStatements`, every value still a `?` parameter). A statement is sent
 * with the next round trip of its transaction: when it or any statement queued after it is awaited,
 * or with `COMMIT`. `START TRANSACTION` goes with the first round trip and `COMMIT` with the last.
 * Statements run in the order they were queued. When one fails, the server runs none after it in
 * that round trip: every statement of the round trip rejects with that error, and the transaction
 * can only roll back (a later round trip or the commit rejects with the same error).
 */
export interface TxSql extends Sql {
  /** queue a statement; its result (rows, or the write's header) comes with the round trip that carries it */
  later<T>(sql: string, params?: unknown[]): PromiseLike<T>;
  /** queue a write whose result nobody needs (it goes with the next round trip, at the latest with COMMIT) */
  write(sql: string, params?: unknown[]): void;
  /**
   * Group commit (group-commit.ts): every write of this flow that the next flow of its key reads is
   * queued, so that flow may start now (its statements run after these, in this transaction). What
   * the flow queues afterwards must not be read by it. Absent on a transaction of one flow.
   */
  handoff?(): void;
}

interface Queued {
  sql: string;
  params: unknown[];
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

const ignore = () => undefined;

class Pipeline implements TxSql {
  private queue: Queued[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** the round trip a deferred flush will send (group mode), until it is sent */
  private soon: Promise<void> | undefined;
  /** the first error of a round trip: the transaction can only roll back */
  private failed: { err: unknown } | undefined;
  private closed = false;
  /** whether a round trip (so `START TRANSACTION`) reached the server */
  sent = false;
  /** whether a round trip went through (so the transaction's first statements ran) */
  succeeded = false;
  /** statements queued by the flow (not the transaction's own `SET`/`START TRANSACTION`) */
  private used = false;

  constructor(
    private readonly runner: Pick<QueryRunner, 'query'>,
    begin: string[],
    /**
     * several flows share this transaction (group-commit.ts): a round trip waits for the end of the
     * event loop's current turn (setImmediate), so that every flow a result woke up has queued its
     * next statements by then, and they travel together
     */
    private readonly deferFlush = false,
  ) {
    for (const b of begin) this.enqueue(b, []);
  }

  private enqueue<T>(sql: string, params: unknown[]): { entry: Queued; promise: Promise<T> } {
    let entry!: Queued;
    const promise = new Promise<T>((resolve, reject) => {
      entry = { sql, params, resolve: resolve as (v: unknown) => void, reject };
    });
    // a queued write nobody awaits must not become an unhandled rejection: its error reaches the
    // flow through the round trip that carried it (and the commit)
    promise.catch(ignore);
    this.queue.push(entry);
    return { entry, promise };
  }

  later<T>(sql: string, params: unknown[] = []): PromiseLike<T> {
    this.used = true;
    const { entry, promise } = this.enqueue<T>(sql, params);
    return {
      // awaited: sent with the statements queued in the same synchronous stretch (a microtask later)
      // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose: queued until awaited
      then: (onfulfilled, onrejected) => {
        if (this.queue.includes(entry)) queueMicrotask(() => this.flush().catch(ignore));
        return promise.then(onfulfilled, onrejected);
      },
    };
  }

  write(sql: string, params: unknown[] = []): void {
    this.used = true;
    this.enqueue(sql, params);
  }

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const { promise } = this.enqueue<T[]>(sql, params);
    this.used = true;
    await this.flush();
    return promise;
  }

  async one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, params))[0];
  }

  async exec(sql: string, params: unknown[] = []): Promise<ExecResult> {
    const { promise } = this.enqueue<Partial<ExecResult>>(sql, params);
    this.used = true;
    await this.flush();
    const r = await promise;
    return { insertId: Number(r.insertId ?? 0), affectedRows: Number(r.affectedRows ?? 0) };
  }

  /** send what is queued, after the round trips already under way (one connection: one at a time) */
  flush(): Promise<void> {
    if (!this.deferFlush) return this.flushNow();
    this.soon ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.soon = undefined;
      return this.flushNow();
    });
    return this.soon;
  }

  private flushNow(): Promise<void> {
    const run = this.chain.then(() => this.send());
    this.chain = run.catch(ignore);
    return run;
  }

  private async send(): Promise<void> {
    const batch = this.queue;
    if (!batch.length) return;
    this.queue = [];
    const refused = this.closed ? { err: new Error('the transaction is over') } : this.failed;
    if (refused) {
      for (const e of batch) e.reject(refused.err);
      throw refused.err;
    }
    this.sent = true;
    let results: unknown[];
    try {
      const raw = await this.runner.query(
        batch.map((e) => e.sql).join(';\n'),
        batch.flatMap((e) => e.params),
      );
      // one statement: its result; several: an array with one result per statement
      results = batch.length === 1 ? [raw] : (raw as unknown[]);
    } catch (err) {
      this.failed = { err };
      for (const e of batch) e.reject(err);
      throw err;
    }
    this.succeeded = true;
    batch.forEach((e, i) => {
      e.resolve(results[i]);
    });
  }

  /** queue `COMMIT` after what is left and send it (nothing at all when the flow sent nothing) */
  async commit(): Promise<void> {
    if (!this.sent && !this.used) {
      this.queue = [];
      return;
    }
    this.enqueue('COMMIT', []);
    await this.flushNow();
    if (this.failed) throw this.failed.err;
  }

  /** no round trip after this one; waits for the one under way */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }
}

/** One READ COMMITTED transaction on a pooled connection, pipelined, until `end` released it. */
export interface OpenTransaction {
  tx: TxSql;
  /** commit (when `ok`) or roll back, then give the connection back; rejects when the commit failed */
  end(ok: boolean): Promise<void>;
}

/**
 * Begin a pipelined READ COMMITTED transaction (`START TRANSACTION` goes with its first round trip).
 * `shared`: several flows queue statements into it at once (group-commit.ts).
 */
export async function openTransaction(ds: DataSource, shared = false): Promise<OpenTransaction> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  const conn = (qr as { databaseConnection?: unknown }).databaseConnection as object;
  const fresh = !readCommittedSessions.has(conn);
  const tx = new Pipeline(
    qr,
    [...(fresh ? ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'] : []), 'START TRANSACTION'],
    shared,
  );
  let ended = false;
  return {
    tx,
    async end(ok) {
      if (ended) return;
      ended = true;
      try {
        if (ok) await tx.commit();
      } catch (err) {
        ok = false;
        throw err;
      } finally {
        await tx.close();
        if (!ok && tx.sent) await qr.query('ROLLBACK').catch(ignore);
        // the session's level is set once the first round trip of a transaction went through
        if (fresh && tx.succeeded) readCommittedSessions.add(conn);
        await qr.release();
      }
    },
  };
}

/** Whether a failed transaction is worth running again from the start (deadlock, lock-wait timeout). */
export function isRetryable(err: unknown): boolean {
  const errno = driverErrno(err);
  return errno !== undefined && RETRYABLE_ERRNO.has(errno);
}

/**
 * Run `fn` in one READ COMMITTED transaction, pipelined (`TxSql`); retried from the start on deadlock
 * or lock-wait timeout.
 */
export async function inTransaction<T>(
  ds: DataSource,
  fn: (sql: TxSql) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const open = await openTransaction(ds);
    try {
      const result = await fn(open.tx);
      await open.end(true);
      return result;
    } catch (err) {
      await open.end(false);
      if (attempt >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

/** `?, ?, ?` for an IN list (callers never pass an empty list). */
export function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}
