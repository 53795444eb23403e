/** SQL of `dialogs` and `dialog_members`. */
import type { DialogRole } from '@parley/protocol';
import type { DialogRow } from '../entities/dialog.js';
import type { DialogMemberRow } from '../entities/dialog-member.js';
import { placeholders, type Sql, type TxSql } from '../sql.js';

const DIALOG_COLUMNS =
  'id, with_role, pair_key, date_created, last_activity, last_message_id, message_count, team_unread, awaiting_since';
const MEMBER_COLUMNS =
  'dialog_id, user_id, position, team_dialog, last_activity, unread_count, last_read_message_id, date_joined, awaiting_since';

export async function findDialog(sql: Sql, id: number): Promise<DialogRow | undefined> {
  return sql.one<DialogRow>(`SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE id = ?`, [id]);
}

/** The dialog row, locked: every write to one dialog goes through here, so they serialize per dialog. */
export async function lockDialog(sql: Sql, id: number): Promise<DialogRow | undefined> {
  return sql.one<DialogRow>(`SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE id = ? FOR UPDATE`, [id]);
}

const LOCK_DIALOG_WITH_MEMBERS_SQL = `SELECT ${DIALOG_COLUMNS.split(', ')
  .map((c) => `d.${c}`)
  .join(', ')}, ${MEMBER_COLUMNS.split(', ')
  .map((c) => `m.${c} AS m_${c}`)
  .join(', ')}
   FROM dialogs d LEFT JOIN dialog_members m ON m.dialog_id = d.id
  WHERE d.id = ? ORDER BY m.position, m.user_id FOR UPDATE`;

type DialogWithMemberRow = DialogRow & {
  [K in keyof DialogMemberRow as `m_${K}`]: DialogMemberRow[K] | null;
};

/**
 * The dialog row and its member rows (position order), locked, in one round
 * trip. The LEFT JOIN reads (so locks) the dialog row before its members: the
 * same lock order as `lockDialog` then `findMembers(lock)`.
 */
export async function lockDialogWithMembers(
  sql: Sql,
  id: number,
): Promise<{ dialog: DialogRow; members: DialogMemberRow[] } | undefined> {
  const rows = await sql.rows<DialogWithMemberRow>(LOCK_DIALOG_WITH_MEMBERS_SQL, [id]);
  const first = rows[0];
  if (!first) return undefined;
  const dialog: DialogRow = {
    id: first.id,
    with_role: first.with_role,
    pair_key: first.pair_key,
    date_created: first.date_created,
    last_activity: first.last_activity,
    last_message_id: first.last_message_id,
    message_count: first.message_count,
    team_unread: first.team_unread,
    awaiting_since: first.awaiting_since,
  };
  const members: DialogMemberRow[] = [];
  for (const r of rows) {
    if (r.m_user_id === null) continue;
    members.push({
      dialog_id: r.m_dialog_id!,
      user_id: r.m_user_id,
      position: r.m_position!,
      team_dialog: r.m_team_dialog!,
      last_activity: r.m_last_activity!,
      unread_count: r.m_unread_count!,
      last_read_message_id: r.m_last_read_message_id,
      date_joined: r.m_date_joined!,
      awaiting_since: r.m_awaiting_since,
    });
  }
  return { dialog, members };
}

/** Dialogs by id, in the order of `ids`. */
export async function findDialogs(sql: Sql, ids: number[]): Promise<DialogRow[]> {
  if (!ids.length) return [];
  const rows = await sql.rows<DialogRow>(
    `SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE id IN (${placeholders(ids.length)})`,
    ids,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is DialogRow => r !== undefined);
}

export async function findMembers(
  sql: Sql,
  dialogId: number,
  opts: { lock?: boolean } = {},
): Promise<DialogMemberRow[]> {
  return sql.rows<DialogMemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM dialog_members WHERE dialog_id = ? ORDER BY position, user_id${opts.lock ? ' FOR UPDATE' : ''}`,
    [dialogId],
  );
}

export async function findMember(
  sql: Sql,
  dialogId: number,
  userId: number,
): Promise<DialogMemberRow | undefined> {
  return sql.one<DialogMemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM dialog_members WHERE dialog_id = ? AND user_id = ?`,
    [dialogId, userId],
  );
}

/** Members of many dialogs at once, ordered by dialog then position. */
export async function findMembersOf(sql: Sql, dialogIds: number[]): Promise<DialogMemberRow[]> {
  if (!dialogIds.length) return [];
  return sql.rows<DialogMemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM dialog_members WHERE dialog_id IN (${placeholders(dialogIds.length)})
      ORDER BY dialog_id, position, user_id`,
    dialogIds,
  );
}

export async function insertDialog(
  sql: Sql,
  d: { withRole: DialogRole | null; pairKey: string | null; userIds: number[]; now: string },
): Promise<number> {
  const { insertId } = await sql.exec(
    'INSERT INTO dialogs (with_role, pair_key, date_created, last_activity) VALUES (?, ?, ?, ?)',
    [d.withRole, d.pairKey, d.now, d.now],
  );
  if (d.userIds.length) {
    const team = d.withRole ? 1 : 0;
    await sql.exec(
      `INSERT INTO dialog_members (dialog_id, user_id, position, team_dialog, last_activity, date_joined) VALUES ${d.userIds
        .map(() => '(?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      d.userIds.flatMap((u, i) => [insertId, u, i, team, d.now, d.now]),
    );
  }
  return insertId;
}

/** The oldest plain dialog of exactly these two users. */
export async function findPairDialog(sql: Sql, a: number, b: number): Promise<number | undefined> {
  const row = await sql.one<{ id: number }>(
    `SELECT d.id FROM dialog_members ma
       JOIN dialog_members mb ON mb.dialog_id = ma.dialog_id AND mb.user_id = ?
       JOIN dialogs d ON d.id = ma.dialog_id
      WHERE ma.user_id = ? AND d.with_role IS NULL
        AND (SELECT COUNT(*) FROM dialog_members c WHERE c.dialog_id = d.id) = 2
      ORDER BY d.id LIMIT 1`,
    [b, a],
  );
  return row?.id;
}

export async function findDialogByPairKey(sql: Sql, pairKey: string): Promise<number | undefined> {
  return (await sql.one<{ id: number }>('SELECT id FROM dialogs WHERE pair_key = ?', [pairKey]))?.id;
}

export interface Viewer {
  id: number;
  isSupport: boolean;
}

/**
 * One page of the dialogs a viewer sees, newest activity first: their member
 * dialogs, plus (support users) every support dialog. Each part is an
 * index-ordered range read of at most offset+limit rows.
 */
/** SQL of one page of a viewer's dialog list (exported for the EXPLAIN test). */
export function dialogListSql(isSupport: boolean): string {
  const partB = isSupport
    ? `SELECT id, last_activity FROM dialogs WHERE with_role = 'support' ORDER BY last_activity DESC, id DESC LIMIT ?`
    : `SELECT dialog_id AS id, last_activity FROM dialog_members WHERE user_id = ? AND team_dialog = 1
        ORDER BY last_activity DESC, dialog_id DESC LIMIT ?`;
  return `SELECT id FROM (
       (SELECT dialog_id AS id, last_activity FROM dialog_members WHERE user_id = ? AND team_dialog = 0
         ORDER BY last_activity DESC, dialog_id DESC LIMIT ?)
       UNION ALL
       (${partB})
     ) t ORDER BY last_activity DESC, id DESC LIMIT ? OFFSET ?`;
}

export function dialogListParams(viewer: Viewer, limit: number, offset: number): unknown[] {
  const take = offset + limit;
  return [viewer.id, take, ...(viewer.isSupport ? [take] : [viewer.id, take]), limit, offset];
}

/**
 * One page of the dialogs a viewer sees, newest activity first: their member
 * dialogs, plus (support users) every support dialog. Each part is an
 * index-ordered range read of at most offset+limit rows.
 */
export async function listDialogIds(
  sql: Sql,
  viewer: Viewer,
  limit: number,
  offset: number,
): Promise<number[]> {
  const rows = await sql.rows<{ id: number }>(
    dialogListSql(viewer.isSupport),
    dialogListParams(viewer, limit, offset),
  );
  return rows.map((r) => r.id);
}

export async function countDialogs(sql: Sql, viewer: Viewer): Promise<number> {
  if (!viewer.isSupport) {
    const r = await sql.one<{ n: number }>('SELECT COUNT(*) AS n FROM dialog_members WHERE user_id = ?', [
      viewer.id,
    ]);
    return Number(r?.n ?? 0);
  }
  const r = await sql.one<{ n: number }>(
    `SELECT (SELECT COUNT(*) FROM dialog_members WHERE user_id = ? AND team_dialog = 0)
          + (SELECT COUNT(*) FROM dialogs WHERE with_role = 'support') AS n`,
    [viewer.id],
  );
  return Number(r?.n ?? 0);
}

/** Every dialog, newest activity first (admin listing, capped). */
export async function listAllDialogIds(sql: Sql, limit: number): Promise<number[]> {
  const rows = await sql.rows<{ id: number }>(
    'SELECT id FROM dialogs ORDER BY last_activity DESC, id DESC LIMIT ?',
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * A new message: the dialog's activity, last message, count and team counter, and every member row.
 * Queued right after the message's INSERT (messages.queueMessage), in the same synchronous stretch:
 * `LAST_INSERT_ID()` is its id.
 */
export function recordMessage(
  sql: TxSql,
  dialogId: number,
  m: { author: number; now: string; teamDelta: 0 | 1 },
): void {
  // one statement for both tables (a multiple-table UPDATE changes each matched row once); every
  // member row gets the activity copy and one more unread for everyone but the author
  sql.write(RECORD_MESSAGE_SQL, [m.now, m.teamDelta, m.now, m.author, dialogId]);
}

const RECORD_MESSAGE_SQL = `UPDATE dialogs d LEFT JOIN dialog_members m ON m.dialog_id = d.id
   SET d.last_activity = ?, d.last_message_id = LAST_INSERT_ID(), d.message_count = d.message_count + 1,
       d.team_unread = d.team_unread + ?,
       m.last_activity = ?, m.unread_count = m.unread_count + IF(m.user_id <> ?, 1, 0)
 WHERE d.id = ?`;

/** Messages became read: the team counter and each member's new counter (absolute values). */
export async function recordRead(
  sql: Sql,
  dialogId: number,
  r: { teamDelta: number; counters: Map<number, number>; reader: number | null; upTo: number },
): Promise<void> {
  if (r.teamDelta) {
    await sql.exec('UPDATE dialogs SET team_unread = team_unread - ? WHERE id = ?', [r.teamDelta, dialogId]);
  }
  const changed = [...r.counters.entries()];
  if (changed.length) {
    await sql.exec(
      `UPDATE dialog_members SET unread_count = CASE user_id ${changed.map(() => 'WHEN ? THEN ?').join(' ')} ELSE unread_count END
        WHERE dialog_id = ? AND user_id IN (${placeholders(changed.length)})`,
      [...changed.flat(), dialogId, ...changed.map(([u]) => u)],
    );
  }
  if (r.reader !== null) {
    await sql.exec(
      `UPDATE dialog_members SET last_read_message_id = GREATEST(COALESCE(last_read_message_id, 0), ?)
        WHERE dialog_id = ? AND user_id = ?`,
      [r.upTo, dialogId, r.reader],
    );
  }
}
