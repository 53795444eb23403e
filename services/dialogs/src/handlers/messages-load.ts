/**
 * `dialogs.messages.load`: one page of history (offset from the newest, or
 * below `before_id`), oldest first. The page is a range of positions, so its
 * cost does not grow with the offset; an offset past the end answers an empty
 * page without reading any message; `meta.total` is the stored count.
 */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { messagesInRange, positionBelow } from '../db/repositories/messages.js';
import { historyRange } from '../domain/pagination.js';
import { messageDtos } from '../dto/messages.js';
import { readAccess } from '../flows/access.js';

export const messagesLoad =
  (ctx: DialogsContext): Handler<'dialogs.messages.load'> =>
  async ({ caller, params }) => {
    const { dialog } = await readAccess(ctx.sql, params.dialog_id, caller.user_id);
    const total = dialog.message_count;
    const meta = { limit: params.limit, offset: params.offset, total };
    if (params.offset >= total) return { data: [], meta };
    const top = params.before_id === null ? total : await positionBelow(ctx.sql, dialog.id, params.before_id);
    const range = historyRange(top, params.offset, params.limit);
    if (!range) return { data: [], meta };
    const rows = await messagesInRange(ctx.sql, dialog.id, range);
    return { data: await messageDtos(ctx.sql, ctx, rows), meta };
  };
