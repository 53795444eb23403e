/**
 * Group commit (db/group-commit.ts) on the real MariaDB: write flows queued together share one
 * transaction, a key's flows run in order and see each other's writes, a domain refusal fails alone,
 * and any other failure rolls the group back and runs each flow alone, so nothing is lost or stored
 * twice. Then the same through `dialogs.messages.create` requests in flight at once.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { type MessageDto, ParleyError } from '@parley/protocol';
import { createTestDatabase, freePort, type TestDatabase } from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/db/data-source.js';
import { createGroupCommit, type GroupCommit } from '../src/db/group-commit.js';
import { driverErrno, type TxSql } from '../src/db/sql.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError } from './support.js';

describe('group commit: the rules, on a scratch table', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const groups: { committed: number[]; fellBack: number[] } = { committed: [], fellBack: [] };
  let writes: GroupCommit;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await ds.query(
      'CREATE TABLE t (k INT NOT NULL, pos INT NOT NULL, tag VARCHAR(50) NOT NULL, PRIMARY KEY (k, pos))',
    );
    await ds.query('CREATE TABLE tags (tag VARCHAR(50) PRIMARY KEY)');
    writes = createGroupCommit(ds, {
      maxMembers: 8,
      stats: { committed: (n) => groups.committed.push(n), fellBack: (n) => groups.fellBack.push(n) },
    });
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const reset = async () => {
    await ds.query('DELETE FROM t');
    await ds.query('DELETE FROM tags');
    groups.committed.length = 0;
    groups.fellBack.length = 0;
  };
  const rows = async () =>
    (
      (await ds.query('SELECT k, pos, tag FROM t ORDER BY k, pos')) as {
        k: number;
        pos: number;
        tag: string;
      }[]
    ).map((r) => `${r.k}/${r.pos}/${r.tag}`);

  /** a flow like a create: lock, read the key's last position, append the next one, answer the connection */
  const append =
    (
      k: number,
      tag: string,
      opts: { refuseBefore?: boolean; refuseAfter?: boolean; tagOnce?: boolean } = {},
    ) =>
    async (sql: TxSql) => {
      const [conn, last] = await Promise.all([
        sql.later<{ c: number }[]>('SELECT CONNECTION_ID() AS c'),
        sql.later<{ p: number | null }[]>('SELECT MAX(pos) AS p FROM t WHERE k = ? FOR UPDATE', [k]),
      ]);
      if (opts.refuseBefore) throw new ParleyError('forbidden');
      sql.write('INSERT INTO t (k, pos, tag) VALUES (?, ?, ?)', [k, (last[0]?.p ?? 0) + 1, tag]);
      // a unique tag: a second flow with the same tag fails with a duplicate key (an SQL error)
      if (opts.tagOnce) sql.write('INSERT INTO tags (tag) VALUES (?)', [tag]);
      await sql.later('SELECT 1');
      if (opts.refuseAfter) throw ParleyError.invalid('body');
      return conn[0]?.c;
    };

  test('flows queued together share one transaction; a key’s flows run in order and see each other', async () => {
    await reset();
    // the first flow runs alone (nothing else was queued); the next seven arrive while it runs
    const first = writes.run(1, append(1, 'a'));
    const rest = [
      writes.run(2, append(2, 'b')),
      writes.run(1, append(1, 'c')),
      writes.run(3, append(3, 'd')),
      writes.run(1, append(1, 'e')),
      writes.run(2, append(2, 'f')),
      writes.run(4, append(4, 'g')),
      writes.run(3, append(3, 'h')),
    ];
    await first;
    const connections = await Promise.all(rest);
    expect(groups.committed).toEqual([7]);
    expect(new Set(connections).size).toBe(1);
    // per key: arrival order, dense positions
    expect(await rows()).toEqual(['1/1/a', '1/2/c', '1/3/e', '2/1/b', '2/2/f', '3/1/d', '3/2/h', '4/1/g']);
  });

  test('a flow is answered only once its transaction committed: another connection sees its row then', async () => {
    await reset();
    const other = createDataSource({ url: db.url, poolSize: 1 });
    await other.initialize();
    try {
      const visible = async (tag: string) =>
        Number(
          ((await other.query('SELECT COUNT(*) AS n FROM t WHERE tag = ?', [tag])) as { n: number }[])[0]?.n,
        );
      const blocker = writes.run(9, append(9, 'x'));
      // each answer asks the other connection at once (its query leaves before anything else can)
      // when the answer arrives, the server has already acknowledged the group's COMMIT (the
      // group reports it before it answers), and another connection sees the row
      const seen = Array.from({ length: 6 }, (_, i) =>
        writes.run(i, append(i, `v${i}`)).then(() => {
          expect(groups.committed).toEqual([6]);
          return visible(`v${i}`);
        }),
      );
      await blocker;
      expect(await Promise.all(seen)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(groups.committed).toEqual([6]);
    } finally {
      await other.destroy();
    }
  });

  test('a flow that hands off lets the next one of its key start early, which still sees its writes', async () => {
    await reset();
    const trace: string[] = [];
    const handing = (k: number, tag: string) => async (sql: TxSql) => {
      trace.push(`start ${tag}`);
      const [last] = await sql.later<{ p: number | null }[]>(
        'SELECT MAX(pos) AS p FROM t WHERE k = ? FOR UPDATE',
        [k],
      );
      sql.write('INSERT INTO t (k, pos, tag) VALUES (?, ?, ?)', [k, (last?.p ?? 0) + 1, tag]);
      sql.handoff?.();
      await sql.later('SELECT 1');
      // written after the handoff: the next flow must not depend on it
      sql.write('INSERT INTO tags (tag) VALUES (?)', [tag]);
      trace.push(`end ${tag}`);
    };
    const blocker = writes.run(9, append(9, 'x'));
    const group = ['a', 'b', 'c', 'd'].map((tag) => writes.run(1, handing(1, tag)));
    await blocker;
    await Promise.all(group);
    expect(groups.committed).toEqual([4]);
    // b started before a ended (it rode with a's last round trip), and so on
    expect(trace.indexOf('start b')).toBeLessThan(trace.indexOf('end a'));
    expect(trace.indexOf('start d')).toBeLessThan(trace.indexOf('end c'));
    expect(await rows()).toEqual(['1/1/a', '1/2/b', '1/3/c', '1/4/d', '9/1/x']);
  });

  test('at most maxMembers flows per transaction', async () => {
    await reset();
    const all = Array.from({ length: 21 }, (_, i) => writes.run(i, append(i, `m${i}`)));
    await Promise.all(all);
    expect(groups.committed.every((n) => n <= 8)).toBe(true);
    expect(groups.committed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(19);
    expect((await rows()).length).toBe(21);
  });

  test('a domain refusal before any write fails alone; the rest of the group commits', async () => {
    await reset();
    const blocker = writes.run(9, append(9, 'x'));
    const group = [
      writes.run(1, append(1, 'a')),
      writes.run(2, append(2, 'refused', { refuseBefore: true })),
      writes.run(3, append(3, 'c')),
    ];
    await blocker;
    const settled = await Promise.allSettled(group);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'forbidden' });
    expect(groups).toEqual({ committed: [3], fellBack: [] });
    expect(await rows()).toEqual(['1/1/a', '3/1/c', '9/1/x']);
  });

  test('a refusal after a write rolls the group back; each flow runs alone, nothing doubled', async () => {
    await reset();
    const blocker = writes.run(9, append(9, 'x'));
    const group = [
      writes.run(1, append(1, 'a')),
      writes.run(2, append(2, 'late', { refuseAfter: true })),
      writes.run(1, append(1, 'b')),
      writes.run(3, append(3, 'c')),
    ];
    await blocker;
    const settled = await Promise.allSettled(group);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'validation_error' });
    expect(groups).toEqual({ committed: [], fellBack: [4] });
    expect(await rows()).toEqual(['1/1/a', '1/2/b', '3/1/c', '9/1/x']);
  });

  test('an SQL error in one flow (duplicate key) fails that flow only, after the group ran each alone', async () => {
    await reset();
    const blocker = writes.run(9, append(9, 'x'));
    const group = [
      writes.run(1, append(1, 'same', { tagOnce: true })),
      writes.run(2, append(2, 'same', { tagOnce: true })),
      writes.run(3, append(3, 'c', { tagOnce: true })),
    ];
    await blocker;
    const settled = await Promise.allSettled(group);
    // alone, the two flows with the same tag race as two requests would: either may win
    const [a, b, c] = settled;
    expect([a?.status, b?.status].sort()).toEqual(['fulfilled', 'rejected']);
    expect(c?.status).toBe('fulfilled');
    const lost = [a, b].find((s) => s?.status === 'rejected') as PromiseRejectedResult;
    expect(driverErrno(lost.reason)).toBe(1062);
    expect(groups).toEqual({ committed: [], fellBack: [3] });
    const winner = a?.status === 'fulfilled' ? '1/1/same' : '2/1/same';
    expect(await rows()).toEqual([winner, '3/1/c', '9/1/x']);
  });
});

describe('group commit behind dialogs.messages.create', () => {
  let h: StartedDialogs;
  let metricsUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    h = await startDialogs({ config: { METRICS_PORT: port } });
    for (let id = 1; id <= 41; id++) await createUser(h.rpc, id);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const metric = async (name: string, outcome: string) => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{outcome="${outcome}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  test('40 creates in flight into 20 dialogs: shared transactions, every message stored once in order, a stranger and a client_id race answered alone', async () => {
    // dialog i: users 2i-1 and 2i; user 41 is in none of them
    const dialogs = [];
    for (let i = 1; i <= 20; i++) dialogs.push(await createDialog(h.rpc, [2 * i - 1, 2 * i]));
    const other = await createDialog(h.rpc, [1, 41]);
    const create = (user: number, dialogId: number, body: string, clientId?: string) =>
      h.rpc.request('dialogs.messages.create', {
        caller: caller(user, 'c1'),
        params: { dialog_id: dialogId, body, ...(clientId ? { client_id: clientId } : {}) } as {
          dialog_id: number;
        },
      }) as Promise<{ data: MessageDto }>;
    const before = await metric('parley_dialogs_group_commit_members_total', 'committed');

    const sent = dialogs.flatMap((d, i) => [
      create(2 * i + 1, d.id, `d${i} first`),
      create(2 * i + 2, d.id, `d${i} second`),
    ]);
    const outsider = create(41, dialogs[0]!.id, 'not a member');
    // the same client_id in two dialogs at once: one is stored, the other refused
    const raceA = create(1, dialogs[0]!.id, 'race', 'same-client-id');
    const raceB = create(1, other.id, 'race', 'same-client-id');
    const answers = await Promise.all(sent);
    // a dialog one is not in does not exist for one
    await expectError(outsider, 'not_found');
    const [a, b] = await Promise.allSettled([raceA, raceB]);

    expect(answers.map((m) => m.data.markdown_body)).toEqual(
      dialogs.flatMap((_, i) => [`d${i} first`, `d${i} second`]),
    );
    // either may win the race; the other is told its client_id is taken
    expect([a, b].map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: 'validation_error' });

    // every dialog's messages once, in the order sent, positions dense
    for (const [i, d] of dialogs.entries()) {
      const page = (await h.rpc.request('dialogs.messages.load', {
        caller: caller(2 * i + 1),
        params: { dialog_id: d.id, limit: 10 } as { dialog_id: number },
      })) as { data: MessageDto[] };
      const bodies = page.data.map((m) => m.markdown_body);
      expect(bodies.filter((x) => x !== 'race')).toEqual([`d${i} first`, `d${i} second`]);
    }
    // each dialog's last message is its own (LAST_INSERT_ID() of its INSERT, not a group mate's)
    const conn = await createConnection(h.db.url);
    try {
      const [rows] = (await conn.query(
        `SELECT d.id, d.last_message_id, (SELECT MAX(id) FROM messages m WHERE m.dialog_id = d.id) AS newest
           FROM dialogs d WHERE d.id IN (?)`,
        [dialogs.map((d) => d.id)],
      )) as unknown as [{ last_message_id: number; newest: number }[]];
      expect(rows).toHaveLength(20);
      for (const r of rows) expect(Number(r.last_message_id)).toBe(Number(r.newest));
    } finally {
      await conn.end();
    }
    // the creates went through shared transactions
    expect(await metric('parley_dialogs_group_commit_members_total', 'committed')).toBeGreaterThan(before);
  });
});
