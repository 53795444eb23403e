/**
 * SQL of the reviewer's queue (PROTOCOL.md §9). A dialog's unanswered run lives on the dialog row;
 * a staff member of a plain dialog holds a copy on their member row, so each staff user's queue is
 * one index range `(user_id, awaiting_since, dialog_id)`; a support user's queue adds the team's
 * support dialogs, the range `(with_role, awaiting_since, id)` of `dialogs`. Counts are stored
 * (`users.awaiting_count`, `team_counters.awaiting_count`) and moved in the message's transaction.
 */
import type { UserRole } from '@parley/protocol';
import { placeholders, type Sql, type TxSql } from '../sql.js';

export const STAFF_ROLES: readonly UserRole[] = ['reviewer', 'support', 'admin'];

export function isStaff(role: UserRole | string | undefined): boolean {
  return role !== undefined && (STAFF_ROLES as readonly string[]).includes(role);
}

/** Whether a message by a user with `role` answers in a dialog with `withRole` (§9). */
export function answers(withRole: string | null, role: UserRole | string | undefined): boolean {
  return withRole === 'support' ? role === 'support' : isStaff(role);
}

/** A run started (`since` a date) or ended (`since` null) in a dialog. */
export async function setDialogAwaiting(sql: TxSql, dialogId: number, since: string | null): Promise<void> {
  sql.write('UPDATE dialogs SET awaiting_since = ? WHERE id = ?', [since, dialogId]);
}

/** The run of a plain dialog, copied to its staff members' rows (their counts move in users.bumpCounters). */
export async function setMembersAwaiting(
  sql: TxSql,
  dialogId: number,
  staffIds: number[],
  since: string | null,
): Promise<void> {
  if (!staffIds.length) return;
  const ids = placeholders(staffIds.length);
  sql.write(`UPDATE dialog_members SET awaiting_since = ? WHERE dialog_id = ? AND user_id IN (${ids})`, [
    since,
    dialogId,
    ...staffIds,
  ]);
}

export async function moveTeamAwaiting(sql: TxSql, delta: 1 | -1): Promise<void> {
  sql.write("UPDATE team_counters SET awaiting_count = awaiting_count + ? WHERE role = 'support'", [delta]);
}

export async function insertReplyTime(
  sql: TxSql,
  r: { dialogId: number; userId: number; team: boolean; since: string; repliedAt: string },
): Promise<void> {
  sql.write(
    'INSERT INTO reply_times (dialog_id, user_id, team, awaiting_since, replied_at) VALUES (?, ?, ?, ?, ?)',
    [r.dialogId, r.userId, r.team ? 1 : 0, r.since, r.repliedAt],
  );
}

/** A user's queue: count and oldest date (UTC, as stored), for each of `ids` (one round trip). */
export interface QueueState {
  count: number;
  oldest: string | null;
}

/** SQL of the oldest date of one user's member queue (exported for the EXPLAIN test). */
export const MEMBER_OLDEST_SQL = `SELECT awaiting_since FROM dialog_members
  WHERE user_id = ? AND awaiting_since IS NOT NULL ORDER BY awaiting_since, dialog_id LIMIT 1`;
/** SQL of the oldest date of the support team's queue (exported for the EXPLAIN test). */
export const TEAM_OLDEST_SQL = `SELECT awaiting_since FROM dialogs
  WHERE with_role = 'support' AND awaiting_since IS NOT NULL ORDER BY awaiting_since, id LIMIT 1`;

/** SQL of the stored counts of `n` users' queues (exported for the EXPLAIN test). */
export function queueCountsSql(n: number): string {
  return `SELECT id, role, awaiting_count,
            (SELECT awaiting_count FROM team_counters WHERE role = 'support') AS team_count
       FROM users WHERE id IN (${placeholders(n)})`;
}

/**
 * Each user's queue state: the stored counts and, per user, one index range read of length 1 (plus
 * one for the team when a support user is among them).
 */
export async function readQueues(
  sql: Sql,
  ids: number[],
  opts: { oldest: boolean } = { oldest: true },
): Promise<Map<number, QueueState>> {
  const out = new Map<number, QueueState>();
  if (!ids.length) return out;
  const users = await sql.rows<{ id: number; role: string; awaiting_count: number; team_count: number }>(
    queueCountsSql(ids.length),
    ids,
  );
  let teamOldest: string | null | undefined;
  for (const u of users) {
    if (!isStaff(u.role)) {
      out.set(Number(u.id), { count: 0, oldest: null });
      continue;
    }
    const support = u.role === 'support';
    let count = Number(u.awaiting_count);
    const want = opts.oldest;
    let oldest = want && Number(u.awaiting_count) > 0 ? await oldestOf(sql, MEMBER_OLDEST_SQL, [u.id]) : null;
    if (support) {
      count += Number(u.team_count ?? 0);
      if (teamOldest === undefined)
        teamOldest = Number(u.team_count) > 0 ? await oldestOf(sql, TEAM_OLDEST_SQL) : null;
      if (teamOldest !== null && (oldest === null || teamOldest < oldest)) oldest = teamOldest;
    }
    out.set(Number(u.id), { count, oldest });
  }
  return out;
}

async function oldestOf(sql: Sql, query: string, params: unknown[] = []): Promise<string | null> {
  const row = await sql.one<{ awaiting_since: string | Date | null }>(query, params);
  return row?.awaiting_since == null ? null : String(row.awaiting_since);
}

/**
 * SQL of one page of a staff user's queue, oldest first: their member range and, for support users,
 * the team's range, each an index range of at most offset+limit rows (exported for the EXPLAIN test).
 */
export function awaitingListSql(isSupport: boolean): string {
  const member = `SELECT dialog_id AS id, awaiting_since AS s FROM dialog_members
      WHERE user_id = ? AND awaiting_since IS NOT NULL ORDER BY awaiting_since, dialog_id LIMIT ?`;
  if (!isSupport) return `SELECT id FROM (${member}) t ORDER BY s, id LIMIT ? OFFSET ?`;
  return `SELECT id FROM (
      (${member})
      UNION ALL
      (SELECT id, awaiting_since AS s FROM dialogs
        WHERE with_role = 'support' AND awaiting_since IS NOT NULL ORDER BY awaiting_since, id LIMIT ?)
    ) t ORDER BY s, id LIMIT ? OFFSET ?`;
}

export function awaitingListParams(
  userId: number,
  isSupport: boolean,
  limit: number,
  offset: number,
): unknown[] {
  const take = offset + limit;
  return [userId, take, ...(isSupport ? [take] : []), limit, offset];
}

export async function listAwaitingIds(
  sql: Sql,
  userId: number,
  isSupport: boolean,
  limit: number,
  offset: number,
): Promise<number[]> {
  const rows = await sql.rows<{ id: number }>(
    awaitingListSql(isSupport),
    awaitingListParams(userId, isSupport, limit, offset),
  );
  return rows.map((r) => Number(r.id));
}

/**
 * After a user's role changed: their member rows of plain dialogs take the dialog's run when the new
 * role is a staff role (else none), and their count is recounted (a rare admin operation).
 */
export async function recountAwaitingAfterRoleChange(
  sql: Sql,
  userId: number,
  role: UserRole,
): Promise<void> {
  await sql.exec(
    `UPDATE dialog_members m JOIN dialogs d ON d.id = m.dialog_id
        SET m.awaiting_since = IF(?, d.awaiting_since, NULL)
      WHERE m.user_id = ? AND m.team_dialog = 0`,
    [isStaff(role) ? 1 : 0, userId],
  );
  await sql.exec(
    `UPDATE users SET counters_version = counters_version + 1, awaiting_count = (
       SELECT COUNT(*) FROM dialog_members WHERE user_id = ? AND awaiting_since IS NOT NULL
     ) WHERE id = ?`,
    [userId, userId],
  );
}
