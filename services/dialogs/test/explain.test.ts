/**
 * Query plans on a populated database: a history page is a range on the unique
 * `(dialog_id, position)` index of about `limit` rows whatever its depth, the
 * newest message below a cursor one row of `(dialog_id, id)` (MariaDB needs the
 * FORCE INDEX for it), the dialog list and the counters are index reads — no
 * table scan, no filesort over a dialog.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { dialogListParams, dialogListSql } from '../src/db/repositories/dialogs.js';
import { HISTORY_RANGE_SQL, POSITION_BELOW_SQL } from '../src/db/repositories/messages.js';
import { WRITER_AND_MEMBERS_SQL } from '../src/db/repositories/users.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  rows: number | string | null;
  Extra: string | null;
}

let h: StartedDialogs;
const DIALOGS = 6;
const PER_DIALOG = 1500;
const dialogIds: number[] = [];

const explain = async (sql: string, params: unknown[]) =>
  (await h.service.dataSource!.query(`EXPLAIN ${sql}`, params)) as PlanRow[];
const baseTables = (plan: PlanRow[]) => plan.filter((r) => r.table && !r.table.startsWith('<'));

beforeAll(async () => {
  h = await startDialogs();
  await createUser(h.rpc, 1);
  await createUser(h.rpc, 2);
  await createUser(h.rpc, 3, { role: 'support' });
  for (let i = 0; i < DIALOGS; i++)
    dialogIds.push((await createDialog(h.rpc, [1, 2], i % 3 === 0 ? 'support' : null)).id);
  for (let u = 10; u < 60; u++) {
    await createUser(h.rpc, u);
    await createDialog(h.rpc, [u, 2]);
  }
  // bulk history straight into the table: the plans, not the write path, are under test here
  const ds = h.service.dataSource!;
  for (const d of dialogIds) {
    for (let start = 0; start < PER_DIALOG; start += 500) {
      const rows = Array.from({ length: 500 }, (_, i) => [
        d,
        start + i + 1,
        1 + ((start + i) % 2),
        `m${start + i}`,
        `<p>m${start + i}</p>`,
      ]);
      await ds.query(
        `INSERT INTO messages (dialog_id, position, user_id, markdown_body, body, date_created, date_read)
         VALUES ${rows.map(() => "(?, ?, ?, ?, ?, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:01.000000')").join(', ')}`,
        rows.flat(),
      );
    }
  }
  await ds.query('UPDATE dialogs SET message_count = ? WHERE id IN (?)', [PER_DIALOG, dialogIds]);
  await ds.query('ANALYZE TABLE messages, dialogs, dialog_members, users');
});
afterAll(async () => {
  await h?.stop();
});

test('a history page at any depth: a range of about `limit` rows on (dialog_id, position), no filesort', async () => {
  const d = dialogIds[2]!;
  // the newest page, the oldest end (what OFFSET 1470 used to read and discard), and the middle
  for (const [from, to] of [
    [PER_DIALOG - 29, PER_DIALOG],
    [1, 30],
    [700, 729],
  ] as const) {
    const [row] = await explain(HISTORY_RANGE_SQL, [d, from, to]);
    expect(row!.key).toBe('ux_messages_dialog_position');
    expect(row!.type).toBe('range');
    expect(Number(row!.rows)).toBeLessThanOrEqual(60);
    expect(row!.Extra ?? '').not.toMatch(/filesort/i);
  }
});

test('before_id: the newest message below the cursor is read backwards on (dialog_id, id)', async () => {
  const d = dialogIds[2]!;
  for (const cursor of [1_000_000, 900]) {
    const [row] = await explain(POSITION_BELOW_SQL, [d, cursor]);
    expect(row!.key).toBe('ix_messages_dialog_id');
    expect(row!.type).toBe('range');
    expect(row!.Extra ?? '').not.toMatch(/filesort/i);
  }
});

test('search.id reads one message by key (its position answers); seen up_to is an index range', async () => {
  const d = dialogIds[1]!;
  const [message] = await explain('SELECT position, dialog_id FROM messages WHERE id = ?', [100]);
  expect(message!.type).toBe('const');
  const [unread] = await explain(
    `SELECT id, user_id FROM messages FORCE INDEX (ix_messages_dialog_unread)
      WHERE dialog_id = ? AND date_read IS NULL AND id <= ? ORDER BY id`,
    [d, 5000],
  );
  expect(unread!.key).toBe('ix_messages_dialog_unread');
  expect(unread!.Extra ?? '').not.toMatch(/filesort/i);
});

test('the dialog list reads members and support dialogs by index, for students and supports', async () => {
  for (const viewer of [
    { id: 2, isSupport: false },
    { id: 3, isSupport: true },
  ]) {
    const plan = await explain(dialogListSql(viewer.isSupport), dialogListParams(viewer, 20, 0));
    const tables = baseTables(plan);
    expect(tables.length).toBe(2);
    for (const r of tables) {
      expect(r.type).not.toBe('ALL');
      expect(['ix_members_user_activity', 'ix_dialogs_role_activity']).toContain(r.key);
      expect(r.Extra ?? '').not.toMatch(/filesort/i);
    }
  }
});

test('counters and totals: key lookups and index-only counts', async () => {
  const [members] = await explain('SELECT COUNT(*) AS n FROM dialog_members WHERE user_id = ?', [2]);
  expect(members!.key).toBe('ix_members_user_activity');
  expect(members!.Extra ?? '').toMatch(/using index/i);
  const [user] = await explain('SELECT unread_dialogs FROM users WHERE id = ?', [2]);
  expect(user!.type).toBe('const');
  const [member] = await explain(
    'SELECT unread_count FROM dialog_members WHERE dialog_id = ? AND user_id = ?',
    [dialogIds[0], 2],
  );
  expect(member!.type).toBe('const');
  const [team] = await explain("SELECT COUNT(*) FROM dialogs WHERE with_role = 'support'", []);
  expect(team!.key).toBe('ix_dialogs_role_activity');
});

test('a real page from deep in the history is right', async () => {
  const d = dialogIds[4]!;
  const { caller } = await import('@parley/bus');
  const page = await h.rpc.request('dialogs.messages.load', {
    caller: caller(1),
    params: { dialog_id: d, limit: 30, offset: PER_DIALOG - 30 },
  });
  expect(page.data.map((m) => m.markdown_body)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
  expect(page.meta?.total).toBe(PER_DIALOG);
  const tail = await h.rpc.request('dialogs.messages.load', {
    caller: caller(1),
    params: { dialog_id: d, limit: 30, offset: PER_DIALOG - 10 },
  });
  expect(tail.data.map((m) => m.markdown_body)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
});

test("a create's users read (author, members, the support team of a support dialog) reads by key and index", async () => {
  // a plain dialog (no support rows) and a support dialog (the team by its role index)
  for (const d of [dialogIds[1]!, dialogIds[0]!]) {
    const plan = await explain(WRITER_AND_MEMBERS_SQL, [1, d, d]);
    for (const row of baseTables(plan)) {
      expect(row.type).not.toBe('ALL');
      expect(row.Extra ?? '').not.toMatch(/filesort/i);
    }
  }
});
