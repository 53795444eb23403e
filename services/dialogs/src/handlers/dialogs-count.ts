/** `notifications.dialogs.count`: dialogs with unread messages from others; O(1) (two counters). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { findUser, teamUnreadDialogs } from '../db/repositories/users.js';

export const dialogsCount =
  (ctx: DialogsContext): Handler<'notifications.dialogs.count'> =>
  async ({ caller }) => {
    const user = await findUser(ctx.sql, caller.user_id);
    if (!user) return { data: 0 };
    const team = user.role === 'support' ? await teamUnreadDialogs(ctx.sql) : 0;
    return { data: user.unread_dialogs + team };
  };
