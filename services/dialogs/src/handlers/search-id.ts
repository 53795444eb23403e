/** `dialogs.messages.search.id`: which `dialogs.messages.load` page holds a message (from its position, no count). */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findMessage } from '../db/repositories/messages.js';
import { newerThan, pageOf } from '../domain/pagination.js';
import { readAccess } from '../flows/access.js';

export const searchId =
  (ctx: DialogsContext): Handler<'dialogs.messages.search.id'> =>
  async ({ caller, params }) => {
    const { dialog } = await readAccess(ctx.sql, params.dialog_id, caller.user_id);
    const message = await findMessage(ctx.sql, params.message_id);
    if (!message || message.dialog_id !== dialog.id)
      throw new ParleyError('not_found', { field: 'message_id' });
    return { data: pageOf(newerThan(dialog.message_count, message.position), params.limit) };
  };
