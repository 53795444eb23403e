/** `notifications.dialogs.messages.count`: unread messages from others in one dialog (a stored counter). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { readAccess } from '../flows/access.js';

export const messagesCount =
  (ctx: DialogsContext): Handler<'notifications.dialogs.messages.count'> =>
  async ({ caller, params }) => {
    const { dialog, view, member } = await readAccess(ctx.sql, params.dialog_id, caller.user_id);
    const count = view === 'team' ? dialog.team_unread : (member?.unread_count ?? 0);
    return { data: { count, dialog_id: dialog.id } };
  };
