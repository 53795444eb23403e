/**
 * History pages by position, over NATS on the real MariaDB: every page at every
 * depth (offset, before_id, search.id) equals the same slice of a model list of
 * ids; positions stay dense under concurrent creates; migration 0002 numbers
 * the messages a database already holds; `dialogs.load` caps its offset.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { createTestDatabase, type TestDatabase } from '@parley/testing';
import { DataSource } from 'typeorm';
import { parseMysqlUrl } from '../src/db/data-source.js';
import { InitialSchema1700000000001 } from '../src/db/migrations/0001-initial-schema.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError } from './support.js';

const A = 1;
const B = 2;
const SUPPORT = 3;
const MAX_OFFSET = 40;

/** The model: the page `dialogs.messages.load` must answer, from the ids in creation order. */
function modelPage(ids: number[], p: { limit: number; offset: number; beforeId?: number }): number[] {
  const base = p.beforeId === undefined ? ids : ids.filter((id) => id < p.beforeId!);
  const end = base.length - p.offset;
  return end <= 0 ? [] : base.slice(Math.max(0, end - p.limit), end);
}

const loadIds = async (h: StartedDialogs, user: number, params: Record<string, unknown>) => {
  const page = await h.rpc.request('dialogs.messages.load', {
    caller: caller(user),
    params: params as { dialog_id: number },
  });
  return { ids: page.data.map((m) => m.id), total: page.meta?.total };
};

describe('history pages against a model', () => {
  let h: StartedDialogs;
  let d: number;
  const ids: number[] = [];
  const N = 137;

  beforeAll(async () => {
    h = await startDialogs({ config: { MAX_OFFSET } });
    await createUser(h.rpc, A);
    await createUser(h.rpc, B);
    await createUser(h.rpc, SUPPORT, { role: 'support' });
    d = (await createDialog(h.rpc, [A, B])).id;
    // concurrent creates from both members: positions are assigned under the dialog lock
    for (let start = 0; start < N; start += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, N - start) }, (_, i) =>
          h.rpc.request('dialogs.messages.create', {
            caller: caller(i % 2 ? B : A),
            params: { dialog_id: d, body: `m${start + i}` },
          }),
        ),
      );
      ids.push(...batch.map((r) => r.data.id));
    }
    ids.sort((x, y) => x - y);
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('positions are 1..N, unique, in id order, and the stored count is N', async () => {
    const ds = h.service.dataSource!;
    const rows = (await ds.query('SELECT id, position FROM messages WHERE dialog_id = ? ORDER BY id', [
      d,
    ])) as { id: number; position: number }[];
    expect(rows.map((r) => Number(r.id))).toEqual(ids);
    expect(rows.map((r) => Number(r.position))).toEqual(ids.map((_, i) => i + 1));
    const [dialog] = (await ds.query('SELECT message_count FROM dialogs WHERE id = ?', [d])) as {
      message_count: number;
    }[];
    expect(Number(dialog!.message_count)).toBe(N);
  });

  test('every offset from the newest page to past the oldest end, for several limits', async () => {
    for (const limit of [1, 7, 20, 100]) {
      for (let offset = 0; offset <= N + limit; offset += limit === 1 ? 17 : limit) {
        const page = await loadIds(h, A, { dialog_id: d, limit, offset });
        expect({ limit, offset, ...page }).toEqual({
          limit,
          offset,
          ids: modelPage(ids, { limit, offset }),
          total: N,
        });
      }
    }
  });

  test('the oldest end: a partial last page, then empty pages at and far past the end', async () => {
    expect((await loadIds(h, A, { dialog_id: d, limit: 20, offset: N - 3 })).ids).toEqual(ids.slice(0, 3));
    expect((await loadIds(h, A, { dialog_id: d, limit: 20, offset: N - 1 })).ids).toEqual(ids.slice(0, 1));
    for (const offset of [N, N + 1, 1_000_000, 1_000_000_000])
      expect(await loadIds(h, B, { dialog_id: d, limit: 20, offset })).toEqual({ ids: [], total: N });
  });

  test('before_id with offsets: pages below a cursor, from the newest to the oldest end', async () => {
    for (const index of [0, 1, 2, 19, 20, 21, 68, N - 1]) {
      for (const [limit, offset] of [
        [20, 0],
        [5, 3],
        [100, 0],
        [20, 60],
      ] as const) {
        const beforeId = ids[index]!;
        const page = await loadIds(h, B, { dialog_id: d, limit, offset, before_id: beforeId });
        expect({ index, limit, offset, ids: page.ids }).toEqual({
          index,
          limit,
          offset,
          ids: modelPage(ids, { limit, offset, beforeId }),
        });
      }
    }
    // a cursor above every message (an id of a later dialog, or none at all) pages from the newest
    const after = ids[N - 1]! + 1_000_000;
    expect((await loadIds(h, A, { dialog_id: d, limit: 4, before_id: after })).ids).toEqual(ids.slice(-4));
  });

  test('walking back with before_id = the oldest id of each page visits every message once', async () => {
    const seen: number[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = await loadIds(h, A, {
        dialog_id: d,
        limit: 30,
        ...(cursor ? { before_id: cursor } : {}),
      });
      if (!page.ids.length) break;
      seen.unshift(...page.ids);
      cursor = page.ids[0];
    }
    expect(seen).toEqual(ids);
  });

  test('search.id: to_skip_count from the position; the page at that offset holds the message', async () => {
    for (const index of [0, 1, 57, N - 2, N - 1]) {
      for (const limit of [1, 20, 100]) {
        const { data } = await h.rpc.request('dialogs.messages.search.id', {
          caller: caller(B),
          params: { dialog_id: d, message_id: ids[index]!, limit },
        });
        expect(data.to_skip_count).toBe(N - 1 - index);
        expect(data.offset).toBe(data.to_skip_count - (data.to_skip_count % limit));
        expect((await loadIds(h, B, { dialog_id: d, limit, offset: data.offset })).ids).toContain(ids[index]);
      }
    }
  });

  test('dialogs.load: offset past MAX_OFFSET is refused on offset; past the total, an empty page', async () => {
    const list = async (user: number, params: Record<string, unknown>) =>
      h.rpc.request('dialogs.load', { caller: caller(user), params });
    for (let i = 0; i < 4; i++) {
      await createUser(h.rpc, 100 + i);
      await createDialog(h.rpc, [A, 100 + i]);
    }
    await createUser(h.rpc, 200);
    await createDialog(h.rpc, [200, B], 'support');
    const all = await list(A, { limit: 100 });
    expect(all.meta?.total).toBe(5);
    expect(all.data).toHaveLength(5);
    const page = await list(A, { limit: 2, offset: 3 });
    expect(page.data.map((x) => x.id)).toEqual(all.data.slice(3, 5).map((x) => x.id));
    expect(await list(A, { limit: 2, offset: 5 })).toEqual({
      data: [],
      meta: { limit: 2, offset: 5, total: 5 },
    });
    expect((await list(A, { offset: MAX_OFFSET })).data).toEqual([]);
    await expectError(list(A, { offset: MAX_OFFSET + 1 }), 'validation_error', 'offset');
    await expectError(list(SUPPORT, { offset: 1_000_000 }), 'validation_error', 'offset');
    // a support user sees every support dialog; past its total, nothing is read
    const support = await list(SUPPORT, { limit: 10, offset: 0 });
    expect(support.meta?.total).toBe(1);
    expect(await list(SUPPORT, { limit: 10, offset: 1 })).toMatchObject({ data: [], meta: { total: 1 } });
  });
});

describe('migration 0002 on a database that already holds messages', () => {
  let db: TestDatabase;
  let h: StartedDialogs | undefined;
  // dialog id → message ids in creation order, written under the first schema only
  const model = new Map<number, number[]>();

  beforeAll(async () => {
    db = await createTestDatabase();
    const t = parseMysqlUrl(db.url);
    const old = new DataSource({
      type: 'mysql',
      host: t.host,
      port: t.port,
      username: t.username,
      ...(t.password !== undefined ? { password: t.password } : {}),
      database: t.database,
      migrations: [InitialSchema1700000000001],
      dateStrings: true,
      logging: false,
    });
    await old.initialize();
    try {
      await old.runMigrations({ transaction: 'none' });
      await old.query(
        "INSERT INTO users (id, email, date_joined, date_updated) VALUES (1, 'a@x', NOW(6), NOW(6)), (2, 'b@x', NOW(6), NOW(6))",
      );
      for (let i = 0; i < 3; i++) {
        const r = (await old.query(
          'INSERT INTO dialogs (date_created, last_activity) VALUES (NOW(6), NOW(6))',
        )) as { insertId: number };
        const dialogId = Number(r.insertId);
        await old.query(
          'INSERT INTO dialog_members (dialog_id, user_id, last_activity, date_joined) VALUES (?, 1, NOW(6), NOW(6)), (?, 2, NOW(6), NOW(6))',
          [dialogId, dialogId],
        );
        model.set(dialogId, []);
      }
      // messages of the three dialogs interleaved, as a live database has them
      const dialogs = [...model.keys()];
      for (let k = 0; k < 60; k++) {
        const dialogId = dialogs[k % 7 < 4 ? 0 : k % 7 < 6 ? 1 : 2]!;
        const r = (await old.query(
          'INSERT INTO messages (dialog_id, user_id, markdown_body, body, date_created) VALUES (?, ?, ?, ?, NOW(6))',
          [dialogId, 1 + (k % 2), `old ${k}`, `<p>old ${k}</p>`],
        )) as { insertId: number };
        model.get(dialogId)!.push(Number(r.insertId));
      }
      // one stored count drifted: the migration recounts
      for (const [dialogId, list] of model)
        await old.query('UPDATE dialogs SET message_count = ? WHERE id = ?', [
          dialogId === dialogs[1] ? list.length + 5 : list.length,
          dialogId,
        ]);
    } finally {
      await old.destroy();
    }
    h = await startDialogs({ db });
  });
  afterAll(async () => {
    await h?.stop();
    await db?.drop();
  });

  test('existing messages are numbered 1..n per dialog in id order; pages and totals follow', async () => {
    for (const [dialogId, list] of model) {
      const rows = (await h!.service.dataSource!.query(
        'SELECT id, position FROM messages WHERE dialog_id = ? ORDER BY position',
        [dialogId],
      )) as { id: number; position: number }[];
      expect(rows.map((r) => [Number(r.id), Number(r.position)])).toEqual(list.map((id, i) => [id, i + 1]));
      for (const [limit, offset] of [
        [20, 0],
        [5, 5],
        [3, list.length - 2],
        [10, list.length],
      ] as const) {
        const page = await loadIds(h!, 1, { dialog_id: dialogId, limit, offset });
        expect(page).toEqual({ ids: modelPage(list, { limit, offset }), total: list.length });
      }
    }
  });

  test('a new message continues the numbering of its dialog', async () => {
    const [dialogId, list] = [...model.entries()][1]!;
    const { data } = await h!.rpc.request('dialogs.messages.create', {
      caller: caller(2),
      params: { dialog_id: dialogId, body: 'new' },
    });
    const [row] = (await h!.service.dataSource!.query('SELECT position FROM messages WHERE id = ?', [
      data.id,
    ])) as { position: number }[];
    expect(Number(row!.position)).toBe(list.length + 1);
    const page = await loadIds(h!, 1, { dialog_id: dialogId, limit: 2 });
    expect(page).toEqual({ ids: [list[list.length - 1]!, data.id], total: list.length + 1 });
  });
});
