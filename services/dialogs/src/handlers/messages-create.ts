/** `dialogs.messages.create` (PROTOCOL.md §4 event 3). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { createMessage } from '../flows/create-message.js';

export const messagesCreate =
  (ctx: DialogsContext): Handler<'dialogs.messages.create'> =>
  async ({ caller, params }, { requestId }) => ({
    data: await ctx.turns.run(params.dialog_id, () => createMessage(ctx, caller, params, requestId)),
  });
