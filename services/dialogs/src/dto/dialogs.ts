/** dialogs rows → DialogDto for one viewer, members, users and last messages loaded in batches. */
import { type DialogDto, placeholderMessage } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import type { DialogRow } from '../db/entities/dialog.js';
import type { DialogMemberRow } from '../db/entities/dialog-member.js';
import { findMembersOf } from '../db/repositories/dialogs.js';
import { findMessages } from '../db/repositories/messages.js';
import { findUsers } from '../db/repositories/users.js';
import type { Sql } from '../db/sql.js';
import { formatDate } from './dates.js';
import { messageDtos } from './messages.js';
import { unknownUserDto, userDto } from './users.js';

/** `viewer` null: nobody's view (admin): `user` is the first member, counts are 0. */
export async function dialogDtos(
  sql: Sql,
  ctx: DialogsContext,
  dialogs: DialogRow[],
  viewer: { id: number; isSupport: boolean } | null,
): Promise<DialogDto[]> {
  if (!dialogs.length) return [];
  const members = await findMembersOf(
    sql,
    dialogs.map((d) => d.id),
  );
  const byDialog = new Map<number, DialogMemberRow[]>();
  for (const m of members) {
    const list = byDialog.get(m.dialog_id) ?? [];
    list.push(m);
    byDialog.set(m.dialog_id, list);
  }
  const users = await findUsers(
    sql,
    members.map((m) => m.user_id),
  );
  const lastRows = await findMessages(
    sql,
    dialogs.map((d) => d.last_message_id).filter((id): id is number => id !== null),
  );
  const lastDtos = await messageDtos(sql, ctx, [...lastRows.values()]);
  const lastById = new Map(lastDtos.map((m) => [m.id, m]));
  const toUser = (id: number) => {
    const row = users.get(id);
    return row ? userDto(row, ctx.presence) : unknownUserDto(id);
  };
  return dialogs.map((d) => {
    const list = byDialog.get(d.id) ?? [];
    const other = list.find((m) => m.user_id !== viewer?.id);
    let unread = 0;
    if (viewer) {
      if (d.with_role === 'support' && viewer.isSupport) unread = d.team_unread;
      else unread = list.find((m) => m.user_id === viewer.id)?.unread_count ?? 0;
    }
    // §9: the viewer's own queue (a staff member's row of a plain dialog; the team's for support users)
    let awaiting: string | null = null;
    if (viewer) {
      if (d.with_role === 'support') awaiting = viewer.isSupport ? d.awaiting_since : null;
      else awaiting = list.find((m) => m.user_id === viewer.id)?.awaiting_since ?? null;
    }
    const last = d.last_message_id !== null ? lastById.get(d.last_message_id) : undefined;
    return {
      id: d.id,
      last_message: last ?? placeholderMessage(),
      user: other ? toUser(other.user_id) : {},
      users: list.map((m) => toUser(m.user_id)),
      unread_messages_count: unread,
      with_role: d.with_role,
      date_created: formatDate(d.date_created, ctx.config.TIME_ZONE),
      awaiting_reply_since: awaiting === null ? null : formatDate(awaiting, ctx.config.TIME_ZONE),
    };
  });
}
