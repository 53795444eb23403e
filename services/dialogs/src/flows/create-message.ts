/**
 * Create a message (event 3, and POST /api/dialogs/new-message/): one
 * transaction that locks the dialog row (messages of a dialog are numbered in
 * commit order, whatever the number of tabs or instances), validates, stores
 * the rendered HTML, moves every counter and writes `message.created` to the
 * outbox. A repeated `(author, client_id)` answers the stored message and
 * writes nothing. Three round trips to the database (docs/decisions.md §25):
 * the locks and reads, the writes and the reads after them, the outbox row
 * with COMMIT; creates that arrive together share them and the COMMIT
 * (group commit, §27).
 */
import { randomUUID } from 'node:crypto';
import { type Caller, type MessageCreatedEvent, type MessageDto, ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import type { MessageRow } from '../db/entities/message.js';
import { moveTeamAwaiting, readQueues } from '../db/repositories/awaiting.js';
import { lockDialogWithMembers, recordMessage } from '../db/repositories/dialogs.js';
import { lockFileForAttach } from '../db/repositories/files.js';
import { findByClientId, findMessage, queueMessage } from '../db/repositories/messages.js';
import { appendEvent } from '../db/repositories/outbox.js';
import { bumpCounters, bumpTeamUnreadDialogs, findWriterAndMembers } from '../db/repositories/users.js';
import { isDuplicateKey, type TxSql } from '../db/sql.js';
import { asStored, bodyRequired, normalizeBody } from '../domain/body.js';
import { countsForTeam, rowCountsForUser } from '../domain/unread.js';
import { formatDate, nowUtc } from '../dto/dates.js';
import { type KnownRows, messageDto } from '../dto/messages.js';
import { renderMarkdown } from '../markdown.js';
import { writeAccessOf } from './access.js';
import { moveAwaiting, withAwaiting } from './awaiting.js';
import { readAudience, recipientOf } from './member-states.js';

export interface CreateMessageInput {
  dialog_id: number;
  body: string | null;
  file_id: number | null;
  reply_id: number | null;
  lesson_id: number | null;
  client_id: string | null;
}

export async function createMessage(
  ctx: DialogsContext,
  caller: Caller,
  input: CreateMessageInput,
  requestId: string | null,
): Promise<MessageDto> {
  let wrote = false;
  try {
    const dto = await ctx.writes.run(input.dialog_id, async (sql) => {
      const r = await createInTx(sql, ctx, caller, input, requestId);
      wrote = r.created;
      return r.dto;
    });
    if (wrote) ctx.outboxWritten();
    return dto;
  } catch (err) {
    // the same client_id raced in from another dialog: the stored message decides
    if (input.client_id !== null && isDuplicateKey(err)) {
      const stored = await findByClientId(ctx.sql, caller.user_id, input.client_id);
      if (stored && stored.dialog_id === input.dialog_id) return messageDto(ctx.sql, ctx, stored);
      throw ParleyError.invalid('client_id');
    }
    throw err;
  }
}

async function createInTx(
  sql: TxSql,
  ctx: DialogsContext,
  caller: Caller,
  input: CreateMessageInput,
  requestId: string | null,
): Promise<{ dto: MessageDto; created: boolean }> {
  const authorId = caller.user_id;
  // round trip 1 (with START TRANSACTION): the dialog row and its member rows, locked first (the one
  // lock order of every write), then what the checks and counters need, read under that lock
  const [locked, { users, supportIds }, repeated, file, replied] = await Promise.all([
    lockDialogWithMembers(sql, input.dialog_id),
    // the roles of author and members, and the support team when it is a support dialog
    findWriterAndMembers(sql, input.dialog_id, authorId),
    input.client_id !== null ? findByClientId(sql, authorId, input.client_id) : undefined,
    // locked: the unattached-files sweeper cannot delete it while this message attaches it
    input.file_id !== null ? lockFileForAttach(sql, input.file_id) : undefined,
    input.reply_id !== null ? findMessage(sql, input.reply_id) : undefined,
  ]);
  const { dialog, caller: author, members } = writeAccessOf(locked, users.get(authorId), authorId);

  if (repeated) {
    if (repeated.dialog_id !== dialog.id) throw ParleyError.invalid('client_id');
    // its author's row (and those of the members, who may have written a replied-to message) is read
    return { dto: await messageDto(sql, ctx, repeated, { users }), created: false };
  }

  const body = normalizeBody(input.body, ctx.config.MAX_BODY_CHARS);
  const known: Required<KnownRows> = { users: new Map(), files: new Map(), messages: new Map() };
  if (input.file_id !== null) {
    if (!file) throw new ParleyError('not_found', { field: 'file_id' });
    if (file.owner_id !== authorId) throw new ParleyError('forbidden', { field: 'file_id' });
    known.files.set(file.id, file);
  }
  if (input.reply_id !== null) {
    if (!replied || replied.dialog_id !== dialog.id) throw ParleyError.invalid('reply_id');
    known.messages.set(replied.id, replied);
  }
  if (body === null && input.file_id === null) throw bodyRequired();

  const now = nowUtc();
  const markdown = asStored(body ?? '');
  const html = asStored(renderMarkdown(markdown));
  // round trip 2: every write of the message (queued, in this order) and the reads after them.
  // Dense per-dialog position (history pages are position ranges): the dialog row is locked.
  const position = dialog.message_count + 1;
  // counters: every member row but the author's +1; the team's +1 when the author is not support
  const teamDelta = countsForTeam(dialog.with_role, author?.role) ? 1 : 0;
  // the dialog's UPDATE reads the message's id as LAST_INSERT_ID(): it is queued right after the
  // INSERT, with no await between them, so no other create of a shared transaction (group commit)
  // can queue its own INSERT in between
  const inserted = queueMessage(sql, {
    dialogId: dialog.id,
    position,
    userId: authorId,
    markdown,
    html,
    fileId: input.file_id,
    replyId: input.reply_id,
    lessonId: input.lesson_id,
    clientId: input.client_id,
    now,
  });
  recordMessage(sql, dialog.id, { author: authorId, now, teamDelta });
  const after = new Map(members.map((m) => [m.user_id, m.unread_count + (m.user_id === authorId ? 0 : 1)]));
  // rows that went from 0 to 1: their users' unread-dialogs counters move (in a support dialog,
  // a support user's row does not count: the SQL leaves support users out)
  const up = members.filter((m) => m.user_id !== authorId && m.unread_count === 0).map((m) => m.user_id);
  // every user whose counters move gets a new counters version (the team too when its counter moves)
  const changed = members.map((m) => m.user_id).filter((u) => u !== authorId);
  if (teamDelta) changed.push(...supportIds);
  // the reviewer's queue (§9): users whose count or oldest date moved get a counters version too
  const queue = await moveAwaiting(sql, dialog, members, author, authorId, now, users, supportIds);
  await bumpCounters(sql, [...changed, ...queue.moved], up, 1, {
    exceptSupport: !rowCountsForUser(dialog.with_role, 'support'),
    awaiting: queue.members,
  });
  if (teamDelta && dialog.team_unread === 0) await bumpTeamUnreadDialogs(sql, 1);
  if (queue.team) await moveTeamAwaiting(sql, queue.team);

  // every write the next create of this dialog reads is queued: in a shared transaction it may start
  // now, its reads going after them (group commit, §27)
  sql.handoff?.();
  const afterDialog = {
    ...dialog,
    team_unread: dialog.team_unread + teamDelta,
    last_activity: now,
    message_count: dialog.message_count + 1,
  };
  const [queues, audience] = await Promise.all([
    readQueues(sql, queue.moved),
    // the counters after the change, and the author's profile for the DTO, in one read
    readAudience(sql, afterDialog, after, { member: (u) => u !== authorId, team: teamDelta === 1 }, [
      authorId,
    ]),
  ]);
  const id = Number((await inserted).insertId);
  // the row just inserted, as the database now holds it (no re-read)
  const stored: MessageRow = {
    id,
    dialog_id: dialog.id,
    position,
    user_id: authorId,
    markdown_body: markdown,
    body: html,
    file_id: input.file_id,
    reply_id: input.reply_id,
    lesson_id: input.lesson_id,
    client_id: input.client_id,
    date_created: now,
    date_read: null,
  };
  const dto = await messageDto(sql, ctx, stored, { ...known, users: audience.users });
  const event: MessageCreatedEvent = {
    id: randomUUID(),
    type: 'message.created',
    occurred_at: formatDate(now, ctx.config.TIME_ZONE),
    origin: { user_id: authorId, conn_id: caller.conn_id },
    request_id: requestId,
    dialog_id: dialog.id,
    with_role: dialog.with_role,
    message: dto,
    members: withAwaiting(audience.states, queues, ctx.config.TIME_ZONE),
    recipients: audience.states
      .filter((s) => s.counters_changed && s.user_id !== authorId)
      .map((s) => audience.users.get(s.user_id))
      .filter((u) => u !== undefined)
      .map(recipientOf),
  };
  // round trip 3: the outbox row goes with COMMIT
  await appendEvent(sql, event, now);
  return { dto, created: true };
}
