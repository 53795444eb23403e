/** `admin.dialogs.list` (GET /api/admin/dialogs?user_id=): a user's dialogs as they see them, or all; newest first, at most 1000. */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { findDialogs, listAllDialogIds, listDialogIds } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import { dialogDtos } from '../dto/dialogs.js';

export const ADMIN_LIST_MAX = 1000;

export const adminDialogsList =
  (ctx: DialogsContext): Handler<'admin.dialogs.list'> =>
  async ({ user_id }) => {
    if (user_id === null) {
      const ids = await listAllDialogIds(ctx.sql, ADMIN_LIST_MAX);
      return { data: await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), null) };
    }
    const user = await findUser(ctx.sql, user_id);
    const viewer = { id: user_id, isSupport: user?.role === 'support' };
    const ids = await listDialogIds(ctx.sql, viewer, ADMIN_LIST_MAX, 0);
    return { data: await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), viewer) };
  };
