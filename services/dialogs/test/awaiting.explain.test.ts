/**
 * Query plans of the reviewer's queue (PROTOCOL.md §9) for a reviewer with 10,000 dialogs awaiting
 * and a support team with 3,000: the first page of `dialogs.load {filter: "awaiting_reply"}` is
 * index ranges in queue order (no table scan, no filesort over the queue), the oldest date one row
 * of an index range, and the count a key read of stored counters — none grows with the queue.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  awaitingListParams,
  awaitingListSql,
  MEMBER_OLDEST_SQL,
  queueCountsSql,
  TEAM_OLDEST_SQL,
} from '../src/db/repositories/awaiting.js';
import { createUser, type StartedDialogs, startDialogs } from './harness.js';

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  rows: number | string | null;
  Extra: string | null;
}

let h: StartedDialogs;
const REVIEWER = 2;
const SUPPORT = 3;

const explain = async (sql: string, params: unknown[]) =>
  (await h.service.dataSource!.query(`EXPLAIN ${sql}`, params)) as PlanRow[];
const baseTables = (plan: PlanRow[]) => plan.filter((r) => r.table && !r.table.startsWith('<'));

/** `n` dialogs straight into the tables (the plans, not the write path, are under test here) */
async function bulkDialogs(n: number, withRole: 'support' | null, members: number[]): Promise<void> {
  const ds = h.service.dataSource!;
  for (let start = 0; start < n; start += 1000) {
    const size = Math.min(1000, n - start);
    const dates = Array.from({ length: size }, (_, i) => {
      const s = start + i;
      return `2026-01-${String(1 + (s % 28)).padStart(2, '0')} ${String(s % 24).padStart(2, '0')}:00:00.${String(s).padStart(6, '0')}`;
    });
    const r = (await ds.query(
      `INSERT INTO dialogs (with_role, date_created, last_activity, awaiting_since) VALUES ${dates.map(() => '(?, ?, ?, ?)').join(', ')}`,
      dates.flatMap((d) => [withRole, d, d, d]),
    )) as { insertId: number };
    const first = Number(r.insertId);
    const rows = dates.flatMap((d, i) =>
      members.map((u, p) => [
        first + i,
        u,
        p,
        withRole ? 1 : 0,
        d,
        d,
        !withRole && u === REVIEWER ? d : null,
      ]),
    );
    await ds.query(
      `INSERT INTO dialog_members (dialog_id, user_id, position, team_dialog, last_activity, date_joined, awaiting_since)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      rows.flat(),
    );
  }
}

beforeAll(async () => {
  h = await startDialogs();
  await createUser(h.rpc, 1);
  await createUser(h.rpc, REVIEWER, { role: 'reviewer' });
  await createUser(h.rpc, SUPPORT, { role: 'support' });
  await createUser(h.rpc, 4, { role: 'reviewer' });
  await bulkDialogs(10_000, null, [1, REVIEWER]);
  await bulkDialogs(3_000, 'support', [1]);
  await bulkDialogs(2_000, null, [1, 4]); // another reviewer's queue, which the ranges must not read
  const ds = h.service.dataSource!;
  await ds.query('UPDATE users SET awaiting_count = 10000 WHERE id = ?', [REVIEWER]);
  await ds.query("UPDATE team_counters SET awaiting_count = 3000 WHERE role = 'support'");
  await ds.query('ANALYZE TABLE dialogs, dialog_members, users, team_counters');
});
afterAll(async () => {
  await h?.stop();
});

test('the first page of the queue: index ranges in queue order, for reviewers and supports', async () => {
  for (const [user, support, parts] of [
    [REVIEWER, false, 1],
    [SUPPORT, true, 2],
  ] as const) {
    const plan = await explain(awaitingListSql(support), awaitingListParams(user, support, 20, 0));
    const tables = baseTables(plan);
    expect(tables.length).toBe(parts);
    for (const r of tables) {
      expect(r.type).toBe('range');
      expect(['ix_members_user_awaiting', 'ix_dialogs_role_awaiting']).toContain(r.key);
      expect(r.Extra ?? '').not.toMatch(/filesort/i);
    }
  }
});

test('the page answers the oldest dialogs first', async () => {
  const rows = (await h.service.dataSource!.query(
    awaitingListSql(false),
    awaitingListParams(REVIEWER, false, 3, 0),
  )) as { id: number }[];
  const expected = (await h.service.dataSource!.query(
    'SELECT dialog_id AS id FROM dialog_members WHERE user_id = ? AND awaiting_since IS NOT NULL ORDER BY awaiting_since, dialog_id LIMIT 3',
    [REVIEWER],
  )) as { id: number }[];
  expect(rows.map((r) => Number(r.id))).toEqual(expected.map((r) => Number(r.id)));
});

test('count and oldest: stored counters by key, the oldest date one row of an index range', async () => {
  const counts = baseTables(await explain(queueCountsSql(1), [REVIEWER]));
  expect(counts.map((r) => [r.table, r.type])).toEqual([
    ['users', 'const'],
    ['team_counters', 'const'],
  ]);
  const [member] = await explain(MEMBER_OLDEST_SQL, [REVIEWER]);
  expect(member!.key).toBe('ix_members_user_awaiting');
  expect(member!.type).toBe('range');
  expect(member!.Extra ?? '').not.toMatch(/filesort/i);
  const [team] = await explain(TEAM_OLDEST_SQL, []);
  expect(team!.key).toBe('ix_dialogs_role_awaiting');
  expect(team!.type).toBe('range');
  expect(team!.Extra ?? '').not.toMatch(/filesort/i);
});
