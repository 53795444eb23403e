/**
 * Mark messages read (event 4): the named message, or with `up_to` every
 * earlier unread one too, as far as they are unread *for the reader* (written
 * by someone else; for the support team, written by a non-support user).
 * `date_read` keeps its first value; a repeat changes nothing and writes no
 * event. Counters go down in the same transaction, with `message.seen` in the
 * outbox.
 */
import { randomUUID } from 'node:crypto';
import { type Caller, type MessageDto, type MessageSeenEvent, ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { recordRead } from '../db/repositories/dialogs.js';
import { findMessage, lockUnreadUpTo, markRead } from '../db/repositories/messages.js';
import { appendEvent } from '../db/repositories/outbox.js';
import { bumpCounters, bumpTeamUnreadDialogs, findSupportIds, findUsers } from '../db/repositories/users.js';
import { inTransaction } from '../db/sql.js';
import { countsForTeam, countsForViewer, rowCountsForUser, transitions } from '../domain/unread.js';
import { formatDate, nowUtc } from '../dto/dates.js';
import { messageDto } from '../dto/messages.js';
import { writeAccess } from './access.js';
import { readAudience } from './member-states.js';

export interface SeenInput {
  dialog_id: number;
  message_id: number;
  up_to: boolean;
}

export async function markSeen(
  ctx: DialogsContext,
  caller: Caller,
  input: SeenInput,
  requestId: string | null,
): Promise<MessageDto> {
  let wrote = false;
  const dto = await inTransaction(ctx.ds, async (sql) => {
    wrote = false;
    const { dialog, view, members } = await writeAccess(sql, input.dialog_id, caller.user_id);
    const named = await findMessage(sql, input.message_id);
    if (!named || named.dialog_id !== dialog.id) throw new ParleyError('not_found', { field: 'message_id' });

    const candidates = input.up_to
      ? await lockUnreadUpTo(sql, dialog.id, named.id)
      : named.date_read === null
        ? [{ id: named.id, user_id: named.user_id }]
        : [];
    const authors = await findUsers(sql, [
      ...candidates.map((c) => c.user_id),
      ...members.map((m) => m.user_id),
    ]);
    const seen = candidates.filter((c) =>
      countsForViewer(view, caller.user_id, { id: c.user_id, role: authors.get(c.user_id)?.role }),
    );
    if (!seen.length) return messageDto(sql, ctx, named);

    const now = nowUtc();
    await markRead(
      sql,
      seen.map((m) => m.id),
      now,
    );
    // each counter loses the seen messages it had counted
    const before = new Map(members.map((m) => [m.user_id, m.unread_count]));
    const after = new Map(
      members.map((m) => [m.user_id, m.unread_count - seen.filter((s) => s.user_id !== m.user_id).length]),
    );
    const teamDelta = seen.filter((s) =>
      countsForTeam(dialog.with_role, authors.get(s.user_id)?.role),
    ).length;
    const changedCounters = new Map([...after].filter(([u, n]) => n !== before.get(u)));
    await recordRead(sql, dialog.id, {
      teamDelta,
      counters: changedCounters,
      reader: members.some((m) => m.user_id === caller.user_id) ? caller.user_id : null,
      upTo: named.id,
    });
    const { down } = transitions(before, after, (u) =>
      rowCountsForUser(dialog.with_role, authors.get(u)?.role),
    );
    // every member gets counter frames after a seen that changed something (§4.4): a new version for each
    const audienceIds = members.map((m) => m.user_id);
    if (dialog.with_role === 'support') audienceIds.push(...(await findSupportIds(sql)));
    await bumpCounters(sql, audienceIds, down, -1);
    const teamAfter = dialog.team_unread - teamDelta;
    if (teamDelta && teamAfter === 0) await bumpTeamUnreadDialogs(sql, -1);

    const audience = await readAudience(sql, { ...dialog, team_unread: teamAfter }, after, {
      member: (u) => changedCounters.has(u),
      team: teamDelta > 0,
    });
    const dto = await messageDto(sql, ctx, (await findMessage(sql, named.id))!);
    const event: MessageSeenEvent = {
      id: randomUUID(),
      type: 'message.seen',
      occurred_at: formatDate(now, ctx.config.TIME_ZONE),
      origin: { user_id: caller.user_id, conn_id: caller.conn_id },
      request_id: requestId,
      dialog_id: dialog.id,
      message: dto,
      seen_ids: seen.map((s) => s.id),
      members: audience.states,
    };
    await appendEvent(sql, event, now);
    wrote = true;
    return dto;
  });
  if (wrote) ctx.outboxWritten();
  return dto;
}
