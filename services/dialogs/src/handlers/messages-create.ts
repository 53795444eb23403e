/** `dialogs.messages.create` (PROTOCOL.md §4 event 3). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { createMessage } from '../flows/create-message.js';

export const messagesCreate =
  (ctx: DialogsContext): Handler<'dialogs.messages.create'> =>
  async ({ caller, params }, { requestId }) => ({
    // a busy dialog's creates queue in the group commit (ctx.writes), in arrival order
    data: await createMessage(ctx, caller, params, requestId),
  });
