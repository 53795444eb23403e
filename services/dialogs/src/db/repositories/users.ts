/** SQL of `users` and the team counter. */
import type { UserRole } from '@parley/protocol';
import type { UserRow } from '../entities/user.js';
import { placeholders, type Sql, type TxSql } from '../sql.js';

export const USER_COLUMNS =
  'id, email, first_name, last_name, github_url, avatar, thumbnail_avatar, role, reviewer_id, ' +
  'email_notifications, email_confirmed, is_active, unread_dialogs, counters_version, awaiting_count, date_joined, date_updated';

export async function findUser(sql: Sql, id: number): Promise<UserRow | undefined> {
  return sql.one<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [id]);
}

export async function findUsers(sql: Sql, ids: Iterable<number>): Promise<Map<number, UserRow>> {
  const list = [...new Set(ids)];
  const out = new Map<number, UserRow>();
  if (!list.length) return out;
  const rows = await sql.rows<UserRow>(
    `SELECT ${USER_COLUMNS} FROM users WHERE id IN (${placeholders(list.length)})`,
    list,
  );
  for (const r of rows) out.set(r.id, r);
  return out;
}

/** Every support user (the team that shares support dialogs). */
export async function findSupportUsers(sql: Sql): Promise<UserRow[]> {
  return sql.rows<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE role = 'support' ORDER BY id`);
}

/** Ids of every support user (the team whose counters a support dialog moves), in key order. */
export async function findSupportIds(sql: Sql): Promise<number[]> {
  const rows = await sql.rows<{ id: number }>("SELECT id FROM users WHERE role = 'support' ORDER BY id");
  return rows.map((r) => Number(r.id));
}

/** SQL of findWriterAndMembers: params user id, dialog id, dialog id (exported for the EXPLAIN test). */
export const WRITER_AND_MEMBERS_SQL = `(SELECT 0 AS part, ${USER_COLUMNS} FROM users WHERE id = ?)
   UNION ALL
   (SELECT 0, ${USER_COLUMNS.split(', ')
     .map((c) => `u.${c}`)
     .join(', ')} FROM dialog_members m JOIN users u ON u.id = m.user_id WHERE m.dialog_id = ?)
   UNION ALL
   (SELECT 1, ${USER_COLUMNS} FROM users WHERE role = 'support'
       AND EXISTS (SELECT 1 FROM dialogs WHERE id = ? AND with_role = 'support'))`;

/**
 * In one read (no lock): the users rows of `userId` and of every member of the dialog, and, when it
 * is a support dialog, the ids of every support user in key order (none otherwise). The create path
 * reads them with the dialog's lock, in the same round trip.
 */
export async function findWriterAndMembers(
  sql: Sql,
  dialogId: number,
  userId: number,
): Promise<{ users: Map<number, UserRow>; supportIds: number[] }> {
  const rows = await sql.rows<UserRow & { part: number }>(WRITER_AND_MEMBERS_SQL, [
    userId,
    dialogId,
    dialogId,
  ]);
  const users = new Map<number, UserRow>();
  const supportIds: number[] = [];
  for (const { part, ...u } of rows) {
    if (Number(part) === 1) supportIds.push(Number(u.id));
    else users.set(Number(u.id), u);
  }
  return { users, supportIds: supportIds.sort((x, y) => x - y) };
}

/**
 * Bump the counters version of `ids` and move the unread-dialogs counter of `moved` (a subset) by
 * `delta`, in one statement: the rows lock in key order, before the team counter (the one lock
 * order of every counter write), and a read after it in this transaction sees values and versions
 * that belong together. `exceptSupport`: support users' counters do not move (only their version).
 */
export async function bumpCounters(
  sql: TxSql,
  ids: Iterable<number>,
  moved: number[],
  delta: 1 | -1,
  opts: { exceptSupport?: boolean; awaiting?: { ids: number[]; delta: 1 | -1 } } = {},
): Promise<void> {
  const queue = opts.awaiting?.ids.length ? opts.awaiting : undefined;
  const all = [...new Set([...ids, ...moved, ...(queue?.ids ?? [])])].sort((a, b) => a - b);
  if (!all.length) return;
  const move = moved.length
    ? `, unread_dialogs = unread_dialogs + IF(id IN (${placeholders(moved.length)})${
        opts.exceptSupport ? " AND role <> 'support'" : ''
      }, ?, 0)`
    : '';
  // PROTOCOL.md §9: staff members whose plain-dialog queue gained or lost this dialog
  const wait = queue
    ? `, awaiting_count = awaiting_count + IF(id IN (${placeholders(queue.ids.length)}), ?, 0)`
    : '';
  sql.write(
    `UPDATE users SET counters_version = counters_version + 1${move}${wait} WHERE id IN (${placeholders(all.length)})`,
    [...(moved.length ? [...moved, delta] : []), ...(queue ? [...queue.ids, queue.delta] : []), ...all],
  );
}

type AudienceRow = UserRow & { team_total: number | null };

const TEAM_TOTAL = "(SELECT unread_dialogs FROM team_counters WHERE role = 'support') AS team_total";

/**
 * In one round trip: the users `ids`, with `team` every support user too
 * (ordered by id), and the support team's unread-dialogs counter.
 */
export async function findAudienceUsers(
  sql: Sql,
  ids: Iterable<number>,
  withTeam: boolean,
): Promise<{ users: Map<number, UserRow>; team: UserRow[]; teamTotal: number }> {
  const list = [...new Set(ids)];
  const parts: string[] = [];
  if (list.length)
    parts.push(`SELECT ${USER_COLUMNS}, ${TEAM_TOTAL} FROM users WHERE id IN (${placeholders(list.length)})`);
  if (withTeam) parts.push(`SELECT ${USER_COLUMNS}, ${TEAM_TOTAL} FROM users WHERE role = 'support'`);
  const users = new Map<number, UserRow>();
  const team: UserRow[] = [];
  if (!parts.length) return { users, team, teamTotal: 0 };
  // UNION (not ALL): a member who is also a support user comes once
  const query = parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' UNION ');
  const rows = await sql.rows<AudienceRow>(query, list);
  let teamTotal = 0;
  for (const { team_total, ...u } of rows) {
    teamTotal = Number(team_total ?? 0);
    users.set(u.id, u);
    if (withTeam && u.role === 'support') team.push(u);
  }
  team.sort((a, b) => a.id - b.id);
  return { users, team, teamTotal };
}

/** Support dialogs whose team counter is above zero: part of every support user's dialog count. */
export async function teamUnreadDialogs(sql: Sql): Promise<number> {
  const row = await sql.one<{ n: number }>(
    "SELECT unread_dialogs AS n FROM team_counters WHERE role = 'support'",
  );
  return Number(row?.n ?? 0);
}

export async function bumpTeamUnreadDialogs(sql: TxSql, delta: 1 | -1): Promise<void> {
  sql.write("UPDATE team_counters SET unread_dialogs = unread_dialogs + ? WHERE role = 'support'", [delta]);
}

export interface ProfileFields {
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  github_url?: string | null;
  avatar?: string | null;
  role?: UserRole;
  reviewer_id?: number | null;
  email_notifications?: boolean;
  email_confirmed?: boolean;
  is_active?: boolean;
}

const NOT_NULL_TEXT = new Set(['email', 'first_name', 'last_name']);

function columnValue(key: string, value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === null && NOT_NULL_TEXT.has(key)) return '';
  return value;
}

/** Insert the user with the given fields (defaults for the rest); no-op when the id exists. */
export async function insertUserIfMissing(
  sql: Sql,
  id: number,
  fields: ProfileFields,
  now: string,
): Promise<boolean> {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const cols = ['id', ...entries.map(([k]) => k), 'date_joined', 'date_updated'];
  const values = [id, ...entries.map(([k, v]) => columnValue(k, v)), now, now];
  const r = await sql.exec(
    `INSERT IGNORE INTO users (${cols.join(', ')}) VALUES (${placeholders(cols.length)})`,
    values,
  );
  return r.affectedRows === 1;
}

/** Set the given fields (undefined ones stay as they are). */
export async function updateUser(sql: Sql, id: number, fields: ProfileFields, now: string): Promise<void> {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  if (!entries.length) return;
  await sql.exec(
    `UPDATE users SET ${entries.map(([k]) => `${k} = ?`).join(', ')}, date_updated = ? WHERE id = ?`,
    [...entries.map(([k, v]) => columnValue(k, v)), now, id],
  );
}

/**
 * After a user's role went to or from `support`: recount what depends on it
 * (a rare admin operation, so COUNT is fine here): their own unread-dialogs
 * counter, the team counters of support dialogs holding their unread messages,
 * and the global team counter.
 */
export async function recountAfterRoleChange(sql: Sql, userId: number, role: UserRole): Promise<void> {
  await sql.exec(
    `UPDATE users SET counters_version = counters_version + 1, unread_dialogs = (
       SELECT COUNT(*) FROM dialog_members
        WHERE user_id = ? AND unread_count > 0 ${role === 'support' ? 'AND team_dialog = 0' : ''}
     ) WHERE id = ?`,
    [userId, userId],
  );
  const dialogs = await sql.rows<{ dialog_id: number }>(
    `SELECT DISTINCT m.dialog_id FROM messages m JOIN dialogs d ON d.id = m.dialog_id
      WHERE m.user_id = ? AND m.date_read IS NULL AND d.with_role = 'support'`,
    [userId],
  );
  if (!dialogs.length) return;
  const ids = dialogs.map((d) => d.dialog_id).sort((a, b) => a - b);
  await sql.exec(
    `UPDATE dialogs d SET team_unread = (
       SELECT COUNT(*) FROM messages m JOIN users u ON u.id = m.user_id
        WHERE m.dialog_id = d.id AND m.date_read IS NULL AND u.role <> 'support'
     ) WHERE d.id IN (${placeholders(ids.length)})`,
    ids,
  );
  await sql.exec(
    `UPDATE team_counters SET unread_dialogs = (
       SELECT COUNT(*) FROM dialogs WHERE with_role = 'support' AND team_unread > 0
     ) WHERE role = 'support'`,
  );
}

/** Ids of the users who share at least one dialog with `userId` (support dialogs: the whole team too). */
export async function findContacts(sql: Sql, userId: number, role: UserRole | undefined): Promise<number[]> {
  const ids = new Set<number>();
  const direct = await sql.rows<{ user_id: number }>(
    `SELECT DISTINCT o.user_id FROM dialog_members m
       JOIN dialog_members o ON o.dialog_id = m.dialog_id
      WHERE m.user_id = ? AND o.user_id <> ?`,
    [userId, userId],
  );
  for (const r of direct) ids.add(r.user_id);
  const inTeamDialog = await sql.one(
    'SELECT 1 AS x FROM dialog_members WHERE user_id = ? AND team_dialog = 1 LIMIT 1',
    [userId],
  );
  const anyTeamDialog =
    role === 'support'
      ? await sql.one("SELECT 1 AS x FROM dialogs WHERE with_role = 'support' LIMIT 1")
      : undefined;
  if (inTeamDialog || anyTeamDialog) {
    for (const r of await sql.rows<{ id: number }>("SELECT id FROM users WHERE role = 'support'"))
      ids.add(r.id);
  }
  if (anyTeamDialog) {
    const members = await sql.rows<{ user_id: number }>(
      `SELECT DISTINCT dm.user_id FROM dialogs d JOIN dialog_members dm ON dm.dialog_id = d.id
        WHERE d.with_role = 'support'`,
    );
    for (const r of members) ids.add(r.user_id);
  }
  ids.delete(userId);
  return [...ids].sort((a, b) => a - b);
}
