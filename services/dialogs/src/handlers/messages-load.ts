/** `dialogs.messages.load`: one page of history (offset from the newest, or below `before_id`), oldest first. */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { historyPage } from '../db/repositories/messages.js';
import { messageDtos } from '../dto/messages.js';
import { readAccess } from '../flows/access.js';

export const messagesLoad =
  (ctx: DialogsContext): Handler<'dialogs.messages.load'> =>
  async ({ caller, params }) => {
    const { dialog } = await readAccess(ctx.sql, params.dialog_id, caller.user_id);
    const rows = await historyPage(ctx.sql, dialog.id, {
      limit: params.limit,
      offset: params.offset,
      beforeId: params.before_id,
    });
    const data = await messageDtos(ctx.sql, ctx, rows);
    return { data, meta: { limit: params.limit, offset: params.offset, total: dialog.message_count } };
  };
