/**
 * A thin typed face over raw SQL on a TypeORM QueryRunner or DataSource, and
 * the transaction wrapper every write uses: READ COMMITTED (locking reads and
 * counters see the latest committed rows) and a bounded retry on deadlock or
 * lock-wait timeout.
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

/** Start a READ COMMITTED transaction on `qr` (connected). */
export async function startReadCommitted(qr: QueryRunner): Promise<void> {
  const conn = (qr as { databaseConnection?: unknown }).databaseConnection;
  if (typeof conn !== 'object' || conn === null) {
    await qr.startTransaction('READ COMMITTED');
    return;
  }
  if (!readCommittedSessions.has(conn)) {
    await qr.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    readCommittedSessions.add(conn);
  }
  await qr.startTransaction();
}

/** Run `fn` in one READ COMMITTED transaction; retried from the start on deadlock. */
export async function inTransaction<T>(
  ds: DataSource,
  fn: (sql: Sql) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const qr = ds.createQueryRunner();
    await qr.connect();
    try {
      await startReadCommitted(qr);
      const result = await fn(sqlOf(qr));
      await qr.commitTransaction();
      return result;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      const errno = driverErrno(err);
      if (attempt >= attempts || errno === undefined || !RETRYABLE_ERRNO.has(errno)) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    } finally {
      await qr.release();
    }
  }
}

/** `?, ?, ?` for an IN list (callers never pass an empty list). */
export function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}
