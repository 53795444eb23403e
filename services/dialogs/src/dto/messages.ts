/** messages rows → MessageDto, with authors, files and replies loaded in batches (no N+1). */
import type { MessageDto } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import type { FileRow } from '../db/entities/file.js';
import type { MessageRow } from '../db/entities/message.js';
import type { UserRow } from '../db/entities/user.js';
import { findFiles } from '../db/repositories/files.js';
import { findMessages } from '../db/repositories/messages.js';
import { findUsers } from '../db/repositories/users.js';
import type { Sql } from '../db/sql.js';
import { formatDate } from './dates.js';
import { fileDto } from './files.js';
import { unknownUserDto, userDto } from './users.js';

/** Rows a caller already holds (read or written in its transaction): not read again. */
export interface KnownRows {
  users?: Map<number, UserRow>;
  files?: Map<number, FileRow>;
  messages?: Map<number, MessageRow>;
}

/** Rows of `known` for `ids`, and the ids it lacks. */
function split<T>(
  ids: Iterable<number>,
  known: Map<number, T> | undefined,
): { have: Map<number, T>; missing: number[] } {
  const have = new Map<number, T>();
  const missing: number[] = [];
  for (const id of ids) {
    const row = known?.get(id);
    if (row !== undefined) have.set(id, row);
    else if (!have.has(id)) missing.push(id);
  }
  return { have, missing };
}

async function load<T>(
  ids: Iterable<number>,
  known: Map<number, T> | undefined,
  find: (missing: number[]) => Promise<Map<number, T>>,
): Promise<Map<number, T>> {
  const { have, missing } = split(ids, known);
  if (!missing.length) return have;
  for (const [id, row] of await find(missing)) have.set(id, row);
  return have;
}

export async function messageDtos(
  sql: Sql,
  ctx: DialogsContext,
  rows: MessageRow[],
  known: KnownRows = {},
): Promise<MessageDto[]> {
  if (!rows.length) return [];
  const have = new Map(rows.map((r) => [r.id, r]));
  const replyIds = rows.map((r) => r.reply_id).filter((id): id is number => id !== null && !have.has(id));
  const replies = await load(replyIds, known.messages, (ids) => findMessages(sql, ids));
  for (const r of rows)
    if (r.reply_id !== null && have.has(r.reply_id)) replies.set(r.reply_id, have.get(r.reply_id)!);
  const all = [...rows, ...replies.values()];
  const users = await load(
    all.map((r) => r.user_id),
    known.users,
    (ids) => findUsers(sql, ids),
  );
  const files = await load(
    all.map((r) => r.file_id).filter((id): id is number => id !== null),
    known.files,
    (ids) => findFiles(sql, ids),
  );
  const tz = ctx.config.TIME_ZONE;
  const base = (r: MessageRow): Omit<MessageDto, 'reply'> => {
    const user = users.get(r.user_id);
    const file = r.file_id !== null ? files.get(r.file_id) : undefined;
    return {
      id: r.id,
      dialog: r.dialog_id,
      user: user ? userDto(user, ctx.presence) : unknownUserDto(r.user_id),
      body: r.body,
      markdown_body: r.markdown_body,
      file: file ? fileDto(file, ctx.config) : null,
      lesson: r.lesson_id,
      date_created: formatDate(r.date_created, tz),
      date_read: r.date_read ? formatDate(r.date_read, tz) : null,
    };
  };
  return rows.map((r) => {
    const reply = r.reply_id !== null ? replies.get(r.reply_id) : undefined;
    return { ...base(r), reply: reply ? base(reply) : null };
  });
}

export async function messageDto(
  sql: Sql,
  ctx: DialogsContext,
  row: MessageRow,
  known: KnownRows = {},
): Promise<MessageDto> {
  const [dto] = await messageDtos(sql, ctx, [row], known);
  return dto!;
}
