/** SQL of `messages`. History reads are pinned to the `(dialog_id, id)` index (MariaDB may pick a slower plan). */
import type { MessageRow } from '../entities/message.js';
import { placeholders, type Sql } from '../sql.js';

const MESSAGE_COLUMNS =
  'id, dialog_id, user_id, markdown_body, body, file_id, reply_id, lesson_id, client_id, date_created, date_read';

export async function findMessage(sql: Sql, id: number): Promise<MessageRow | undefined> {
  return sql.one<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [id]);
}

export async function findMessages(sql: Sql, ids: Iterable<number>): Promise<Map<number, MessageRow>> {
  const list = [...new Set(ids)];
  const out = new Map<number, MessageRow>();
  if (!list.length) return out;
  const rows = await sql.rows<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id IN (${placeholders(list.length)})`,
    list,
  );
  for (const r of rows) out.set(r.id, r);
  return out;
}

export async function findByClientId(
  sql: Sql,
  userId: number,
  clientId: string,
): Promise<MessageRow | undefined> {
  return sql.one<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE user_id = ? AND client_id = ?`, [
    userId,
    clientId,
  ]);
}

export interface NewMessage {
  dialogId: number;
  userId: number;
  markdown: string;
  html: string;
  fileId: number | null;
  replyId: number | null;
  lessonId: number | null;
  clientId: string | null;
  now: string;
}

export async function insertMessage(sql: Sql, m: NewMessage): Promise<number> {
  const { insertId } = await sql.exec(
    `INSERT INTO messages (dialog_id, user_id, markdown_body, body, file_id, reply_id, lesson_id, client_id, date_created)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [m.dialogId, m.userId, m.markdown, m.html, m.fileId, m.replyId, m.lessonId, m.clientId, m.now],
  );
  return insertId;
}

/** SQL of one history page, newest first (exported for the EXPLAIN test). */
export function historySql(withCursor: boolean): string {
  return `SELECT ${MESSAGE_COLUMNS} FROM messages FORCE INDEX (ix_messages_dialog_id)
           WHERE dialog_id = ?${withCursor ? ' AND id < ?' : ''} ORDER BY id DESC LIMIT ? OFFSET ?`;
}

/** Skip `offset` messages from the newest (below `beforeId` when given), take `limit`; oldest first. */
export async function historyPage(
  sql: Sql,
  dialogId: number,
  p: { limit: number; offset: number; beforeId: number | null },
): Promise<MessageRow[]> {
  const params =
    p.beforeId === null ? [dialogId, p.limit, p.offset] : [dialogId, p.beforeId, p.limit, p.offset];
  const rows = await sql.rows<MessageRow>(historySql(p.beforeId !== null), params);
  return rows.reverse();
}

/** How many messages of the dialog are newer than `id` (an index range count). */
export async function countNewer(sql: Sql, dialogId: number, id: number): Promise<number> {
  const r = await sql.one<{ n: number }>(
    'SELECT COUNT(*) AS n FROM messages FORCE INDEX (ix_messages_dialog_id) WHERE dialog_id = ? AND id > ?',
    [dialogId, id],
  );
  return Number(r?.n ?? 0);
}

/** Unread messages of the dialog up to `upTo`, locked (a range on `(dialog_id, date_read, id)`). */
export async function lockUnreadUpTo(
  sql: Sql,
  dialogId: number,
  upTo: number,
): Promise<{ id: number; user_id: number }[]> {
  return sql.rows(
    `SELECT id, user_id FROM messages FORCE INDEX (ix_messages_dialog_unread)
      WHERE dialog_id = ? AND date_read IS NULL AND id <= ? ORDER BY id FOR UPDATE`,
    [dialogId, upTo],
  );
}

export async function markRead(sql: Sql, ids: number[], now: string): Promise<void> {
  if (!ids.length) return;
  await sql.exec(
    `UPDATE messages SET date_read = ? WHERE id IN (${placeholders(ids.length)}) AND date_read IS NULL`,
    [now, ...ids],
  );
}
