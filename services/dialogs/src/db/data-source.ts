/**
 * The DataSource of the dialogs service: MySQL 8 / MariaDB 10.6+ through mysql2,
 * utf8mb4, DATETIME(6) as strings (microseconds survive; stored in UTC), ids as
 * numbers. Migrations are explicit and ordered; `synchronize` stays off.
 */
import { createHash } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { entities } from './entities/index.js';
import { migrations } from './migrations/index.js';

export interface MysqlTarget {
  host: string;
  port: number;
  username: string;
  password: string | undefined;
  database: string;
}

/** Parse MYSQL_URL ourselves: a database name inside a URL would silently override `database`. */
export function parseMysqlUrl(url: string): MysqlTarget {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\/+/, '').split('/')[0] ?? '');
  if (!database) throw new Error('MYSQL_URL must name a database');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    username: decodeURIComponent(u.username || 'root'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
  };
}

export function createDataSource(opts: { url: string; poolSize: number }): DataSource {
  const t = parseMysqlUrl(opts.url);
  return new DataSource({
    type: 'mysql',
    host: t.host,
    port: t.port,
    username: t.username,
    ...(t.password !== undefined ? { password: t.password } : {}),
    database: t.database,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    poolSize: opts.poolSize,
    synchronize: false,
    migrationsRun: false,
    entities,
    migrations,
    logging: false,
    // mysql2 otherwise captures a stack trace on every query (for async stacks in SQL errors); the
    // bench profile showed it at ~6 % of the service's CPU. SQL errors keep the driver's own stack.
    // multipleStatements: a transaction sends several statements in one round trip (db/sql.ts TxSql,
    // docs/decisions.md §25); every value is still a `?` parameter, never text spliced into SQL.
    extra: { trace: false, multipleStatements: true },
  });
}

/** Create the database of MYSQL_URL when it does not exist yet (first start of a fresh server). */
export async function ensureDatabase(url: string): Promise<void> {
  const t = parseMysqlUrl(url);
  const conn = await createConnection({
    host: t.host,
    port: t.port,
    user: t.username,
    ...(t.password !== undefined ? { password: t.password } : {}),
  });
  try {
    const name = t.database.replace(/`/g, '``');
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end();
  }
}

/**
 * The name of the migration lock of one database. GET_LOCK names are server-wide, not per database:
 * a fixed name made every Parley database on one server (a test run's dozens) migrate one at a
 * time, a dialogs instance starting in one waiting for the migrations of all the others. A digest
 * keeps the name within MySQL's 64 characters whatever the database's name.
 */
export function migrationLockName(database: string): string {
  return `parley_migrations_${createHash('sha256').update(database).digest('hex').slice(0, 32)}`;
}

/** Run `fn` holding the migration lock of `ds`'s database (waits up to 60 s for it). */
export async function withMigrationLock<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  const lockRunner = ds.createQueryRunner();
  await lockRunner.connect();
  try {
    const lock = migrationLockName(String(ds.options.database ?? ''));
    const [row] = (await lockRunner.query('SELECT GET_LOCK(?, 60) AS ok', [lock])) as { ok: number }[];
    if (row?.ok !== 1) throw new Error('could not take the migration lock');
    try {
      return await fn();
    } finally {
      await lockRunner.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    await lockRunner.release();
  }
}

/** Run pending migrations, one process per database at a time (instances starting together wait). */
export async function migrate(ds: DataSource): Promise<void> {
  await withMigrationLock(ds, () => ds.runMigrations({ transaction: 'none' }));
}
