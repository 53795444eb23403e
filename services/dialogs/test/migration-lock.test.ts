/**
 * Migrations take a lock per database (GET_LOCK names are server-wide): a dialogs instance migrating
 * its database never waits for the migrations of another database on the same server (a test run
 * migrates dozens at once; several deployments may share a server), while two instances of the same
 * database still migrate one at a time.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createTestDatabase, mysqlServerUrl, type TestDatabase, waitFor } from '@parley/testing';
import { type Connection, createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate, migrationLockName, withMigrationLock } from '../src/db/data-source.js';

const dbs: TestDatabase[] = [];
const sources: DataSource[] = [];
let watcher: Connection;

async function freshDatabase(): Promise<{ db: TestDatabase; ds: DataSource }> {
  const db = await createTestDatabase();
  dbs.push(db);
  const ds = createDataSource({ url: db.url, poolSize: 2 });
  await ds.initialize();
  sources.push(ds);
  return { db, ds };
}

async function hasTable(db: TestDatabase, table: string): Promise<boolean> {
  const [rows] = (await watcher.query(
    'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?',
    [db.name, table],
  )) as [Array<{ n: number }>, unknown];
  return Number(rows[0]?.n) === 1;
}

beforeAll(async () => {
  watcher = await createConnection(await mysqlServerUrl());
});

afterAll(async () => {
  for (const ds of sources) await ds.destroy().catch(() => undefined);
  await watcher.end();
  for (const db of dbs) await db.drop();
});

test('lock names differ per database and fit MySQL 8 (64 characters at most)', () => {
  const names = ['parley', 'parley_t_0011223344', `a${'x'.repeat(63)}`].map(migrationLockName);
  expect(new Set(names).size).toBe(3);
  for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
  expect(migrationLockName('parley')).toBe(migrationLockName('parley'));
});

test('a database migrates while another database of the server is migrating', async () => {
  const a = await freshDatabase();
  const b = await freshDatabase();
  // b migrates in full while a's migration lock is held (a fixed lock name would wait 60 s here)
  await withMigrationLock(a.ds, () => migrate(b.ds));
  expect(await hasTable(b.db, 'messages')).toBe(true);
}, 20_000);

test('two instances of one database migrate one at a time', async () => {
  const { db, ds } = await freshDatabase();
  const second = createDataSource({ url: db.url, poolSize: 2 });
  await second.initialize();
  sources.push(second);
  let migrated: Promise<void> | undefined;
  await withMigrationLock(ds, async () => {
    migrated = migrate(second);
    // the second instance waits on the lock (the server shows it so) and has created nothing yet
    await waitFor(
      async () => {
        const [rows] = (await watcher.query(
          "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'SELECT GET_LOCK(%' AND db = ?",
          [db.name],
        )) as [Array<{ n: number }>, unknown];
        return Number(rows[0]?.n) >= 1;
      },
      { timeoutMs: 10_000, what: 'the second instance to wait for the lock' },
    );
    expect(await hasTable(db, 'messages')).toBe(false);
  });
  await migrated;
  expect(await hasTable(db, 'messages')).toBe(true);
}, 20_000);
