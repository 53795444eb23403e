/** `dialogs.messages.seen` (PROTOCOL.md §4 event 4). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { markSeen } from '../flows/mark-seen.js';

export const messagesSeen =
  (ctx: DialogsContext): Handler<'dialogs.messages.seen'> =>
  async ({ caller, params }, { requestId }) => ({
    data: await ctx.turns.run(params.dialog_id, () => markSeen(ctx, caller, params, requestId)),
  });
