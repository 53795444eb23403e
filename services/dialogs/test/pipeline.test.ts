/**
 * Several statements per round trip inside a transaction (db/sql.ts `TxSql`, mysql2
 * `multipleStatements`), on the real MariaDB: queued writes go with the next read or with COMMIT, a
 * failing statement anywhere in a round trip rolls the whole transaction back, values stay values,
 * deadlocks are still retried; and a create whose last round trip (the outbox row with COMMIT)
 * fails leaves nothing of it behind.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { createTestDatabase, type TestDatabase } from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/db/data-source.js';
import { driverErrno, inTransaction, type TxSql } from '../src/db/sql.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError } from './support.js';

describe('TxSql: statements of one transaction share round trips', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await ds.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL)');
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const ids = async () =>
    ((await ds.query('SELECT id FROM t ORDER BY id')) as { id: number }[]).map((r) => r.id);
  const clear = () => ds.query('DELETE FROM t');

  test('queued writes go with the next read, in order; a queued INSERT answers its id', async () => {
    await clear();
    const seen = await inTransaction(ds, async (sql) => {
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [1, 'a']);
      const header = sql.later<{ affectedRows: number }>('INSERT INTO t (id, v) VALUES (?, ?)', [2, 'b']);
      sql.write('UPDATE t SET v = ? WHERE id = ?', ['a2', 1]);
      const rows = await sql.rows<{ id: number; v: string }>('SELECT id, v FROM t ORDER BY id');
      expect((await header).affectedRows).toBe(1);
      return rows;
    });
    expect(seen).toEqual([
      { id: 1, v: 'a2' },
      { id: 2, v: 'b' },
    ]);
    expect(await ids()).toEqual([1, 2]);
  });

  test('writes queued last go with COMMIT', async () => {
    await clear();
    await inTransaction(ds, async (sql) => {
      await sql.one('SELECT 1 AS x');
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [3, 'c']);
    });
    expect(await ids()).toEqual([3]);
  });

  test('a statement failing in the middle of a round trip: the error reaches the flow, nothing of the transaction stays', async () => {
    await clear();
    await ds.query('INSERT INTO t (id, v) VALUES (10, ?)', ['before']);
    let attempts = 0;
    const failing = inTransaction(ds, async (sql) => {
      attempts++;
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [11, 'runs, then rolled back']);
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [10, 'duplicate key']);
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [12, 'never runs']);
      await sql.rows('SELECT id FROM t');
      throw new Error('not reached');
    });
    const err = await failing.catch((e: unknown) => e);
    expect(driverErrno(err)).toBe(1062);
    expect(attempts).toBe(1);
    expect(await ids()).toEqual([10]);
  });

  test('a write failing in the COMMIT round trip: the transaction throws and nothing is committed', async () => {
    await clear();
    await ds.query('INSERT INTO t (id, v) VALUES (20, ?)', ['before']);
    const err = await inTransaction(ds, async (sql) => {
      await sql.rows('SELECT id FROM t FOR UPDATE');
      sql.write('UPDATE t SET v = ? WHERE id = ?', ['changed', 20]);
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [21, 'x']);
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [20, 'duplicate key']);
    }).catch((e: unknown) => e);
    expect(driverErrno(err)).toBe(1062);
    expect(await ds.query('SELECT id, v FROM t ORDER BY id')).toEqual([{ id: 20, v: 'before' }]);
  });

  test('after a failed round trip the transaction refuses further statements (it can only roll back)', async () => {
    await clear();
    let later: unknown;
    await inTransaction(ds, async (sql: TxSql) => {
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [30, 'x']);
      await sql.rows('SELECT * FROM no_such_table').catch(() => undefined);
      later = await sql.exec('INSERT INTO t (id, v) VALUES (?, ?)', [31, 'y']).catch((e: unknown) => e);
    }).catch(() => undefined);
    expect(driverErrno(later)).toBe(1146);
    expect(await ids()).toEqual([]);
  });

  test('values with quotes and semicolons stay values (every value is a parameter)', async () => {
    await clear();
    const hostile = "x'); DROP TABLE t; -- \\'; SELECT 1; \"";
    const back = await inTransaction(ds, async (sql) => {
      sql.write('INSERT INTO t (id, v) VALUES (?, ?)', [40, hostile]);
      return sql.one<{ v: string }>('SELECT v FROM t WHERE id = ?', [40]);
    });
    expect(back?.v).toBe(hostile);
    expect(await ids()).toEqual([40]);
  });

  test('a deadlock inside a pipelined transaction is retried from the start; both transactions commit', async () => {
    await clear();
    await ds.query("INSERT INTO t (id, v) VALUES (50, ''), (51, '')");
    let release!: () => void;
    const bothLocked = new Promise<void>((r) => {
      release = r;
    });
    let locked = 0;
    const lockedOne = () => {
      locked++;
      if (locked === 2) release();
    };
    const attempts = [0, 0];
    const run = (i: number, first: number, second: number) =>
      inTransaction(ds, async (sql) => {
        attempts[i]!++;
        await sql.rows('SELECT id FROM t WHERE id = ? FOR UPDATE', [first]);
        if (attempts[i] === 1) {
          lockedOne();
          await bothLocked;
        }
        await sql.rows('SELECT id FROM t WHERE id = ? FOR UPDATE', [second]);
        sql.write('UPDATE t SET v = CONCAT(v, ?) WHERE id IN (?, ?)', [String(i), first, second]);
      });
    await Promise.all([run(0, 50, 51), run(1, 51, 50)]);
    expect(attempts[0]! + attempts[1]!).toBe(3);
    const rows = (await ds.query('SELECT v FROM t ORDER BY id')) as { v: string }[];
    for (const r of rows) expect([...r.v].sort().join('')).toBe('01');
  });
});

describe('a create whose outbox row fails in the COMMIT round trip', () => {
  let h: StartedDialogs;
  beforeAll(async () => {
    h = await startDialogs();
    await createUser(h.rpc, 1);
    await createUser(h.rpc, 2);
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('leaves nothing of the create behind; the next create takes the same position', async () => {
    const d = (await createDialog(h.rpc, [1, 2])).id;
    const send = (body: string) =>
      h.rpc.request('dialogs.messages.create', {
        caller: caller(1, 'c1'),
        params: { dialog_id: d, body, client_id: null } as { dialog_id: number },
      });
    await send('first');
    const conn = await createConnection(h.db.url);
    try {
      const state = async () => {
        const [[dialog]] = (await conn.query(
          'SELECT message_count, last_message_id, awaiting_since FROM dialogs WHERE id = ?',
          [d],
        )) as unknown as [Record<string, unknown>[]];
        const [members] = await conn.query(
          'SELECT user_id, unread_count, last_activity FROM dialog_members WHERE dialog_id = ? ORDER BY user_id',
          [d],
        );
        const [users] = await conn.query(
          'SELECT id, unread_dialogs, counters_version FROM users WHERE id IN (1, 2) ORDER BY id',
        );
        const [messages] = await conn.query('SELECT id, position FROM messages WHERE dialog_id = ?', [d]);
        const [outbox] = await conn.query('SELECT COUNT(*) AS n FROM outbox');
        return { dialog, members, users, messages, outbox };
      };
      const before = await state();
      // the outbox refuses message.created: the last statement before COMMIT fails
      await conn.query(
        "ALTER TABLE outbox ADD CONSTRAINT ck_test_refuse CHECK (event_type <> 'message.created')",
      );
      try {
        await expectError(send('second'), 'internal');
      } finally {
        await conn.query('ALTER TABLE outbox DROP CONSTRAINT ck_test_refuse');
      }
      expect(await state()).toEqual(before);
      const { data } = await send('third');
      expect(data.body).toContain('third');
      const [[row]] = (await conn.query('SELECT position FROM messages WHERE id = ?', [
        data.id,
      ])) as unknown as [{ position: number }[]];
      expect(row?.position).toBe(2);
    } finally {
      await conn.end();
    }
  });
});
