/**
 * SQL of `messages`. A history page is a range on the unique `(dialog_id,
 * position)` index whatever its depth; the one read by id order (the newest
 * message below a cursor) is pinned to `(dialog_id, id)` (MariaDB may pick a
 * slower plan).
 */
import type { MessageRow } from '../entities/message.js';
import { type ExecResult, placeholders, type Sql, type TxSql } from '../sql.js';

const MESSAGE_COLUMNS =
  'id, dialog_id, position, user_id, markdown_body, body, file_id, reply_id, lesson_id, client_id, date_created, date_read';

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
  /** the dialog's message_count + 1, read under the dialog lock */
  position: number;
  userId: number;
  markdown: string;
  html: string;
  fileId: number | null;
  replyId: number | null;
  lessonId: number | null;
  clientId: string | null;
  now: string;
}

const INSERT_MESSAGE_SQL = `INSERT INTO messages (dialog_id, position, user_id, markdown_body, body, file_id, reply_id, lesson_id, client_id, date_created)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function newMessageParams(m: NewMessage): unknown[] {
  return [
    m.dialogId,
    m.position,
    m.userId,
    m.markdown,
    m.html,
    m.fileId,
    m.replyId,
    m.lessonId,
    m.clientId,
    m.now,
  ];
}

/**
 * Queue the INSERT of a message: it goes with the transaction's next round trip. Await the answer
 * (its `insertId`) only once that round trip is under way, or it is sent alone.
 */
export function queueMessage(sql: TxSql, m: NewMessage): PromiseLike<Partial<ExecResult>> {
  return sql.later<Partial<ExecResult>>(INSERT_MESSAGE_SQL, newMessageParams(m));
}

/** SQL of the messages at positions `from..to` of a dialog, oldest first (exported for the EXPLAIN test). */
export const HISTORY_RANGE_SQL = `SELECT ${MESSAGE_COLUMNS} FROM messages
  WHERE dialog_id = ? AND position BETWEEN ? AND ? ORDER BY position`;

/** The messages at positions `from..to` of a dialog (a range on its unique position index), oldest first. */
export async function messagesInRange(
  sql: Sql,
  dialogId: number,
  range: { from: number; to: number },
): Promise<MessageRow[]> {
  return sql.rows<MessageRow>(HISTORY_RANGE_SQL, [dialogId, range.from, range.to]);
}

/** SQL of the position of the newest message of a dialog older than an id (exported for the EXPLAIN test). */
export const POSITION_BELOW_SQL = `SELECT position FROM messages FORCE INDEX (ix_messages_dialog_id)
  WHERE dialog_id = ? AND id < ? ORDER BY id DESC LIMIT 1`;

/**
 * How many messages of the dialog are older than `id`: the position of the
 * newest one below it (ids and positions grow together within a dialog, both
 * assigned under its lock), 0 when there is none. One index row, any depth;
 * works for an id of another dialog or none at all, as `before_id` always did.
 */
export async function positionBelow(sql: Sql, dialogId: number, id: number): Promise<number> {
  const r = await sql.one<{ position: number }>(POSITION_BELOW_SQL, [dialogId, id]);
  return Number(r?.position ?? 0);
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
