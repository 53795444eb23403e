/** `dialogs.load`: the caller's dialogs, newest activity first, with `meta`. */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { countDialogs, findDialogs, listDialogIds } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import { dialogDtos } from '../dto/dialogs.js';

export const dialogsLoad =
  (ctx: DialogsContext): Handler<'dialogs.load'> =>
  async ({ caller, params }) => {
    const user = await findUser(ctx.sql, caller.user_id);
    const viewer = { id: caller.user_id, isSupport: user?.role === 'support' };
    const [ids, total] = await Promise.all([
      listDialogIds(ctx.sql, viewer, params.limit, params.offset),
      countDialogs(ctx.sql, viewer),
    ]);
    const data = await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), viewer);
    return { data, meta: { limit: params.limit, offset: params.offset, total } };
  };
