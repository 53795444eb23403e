/**
 * `dialogs.new_message` (POST /api/dialogs/new-message/): write to one's
 * reviewer. Finds the plain dialog of exactly the caller and the reviewer or
 * creates it (race free: a unique pair key), then creates the message exactly
 * as `dialogs.messages.create`. No reviewer (or an unknown one): forbidden.
 */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findDialogByPairKey, findPairDialog, insertDialog } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import { inTransaction, isDuplicateKey } from '../db/sql.js';
import { bodyRequired, normalizeBody } from '../domain/body.js';
import { nowUtc } from '../dto/dates.js';
import { createMessage } from '../flows/create-message.js';

export const newMessage =
  (ctx: DialogsContext): Handler<'dialogs.new_message'> =>
  async ({ caller, params }, { requestId }) => {
    const user = await findUser(ctx.sql, caller.user_id);
    const reviewerId = user?.reviewer_id ?? null;
    if (reviewerId === null || reviewerId === caller.user_id || !(await findUser(ctx.sql, reviewerId))) {
      throw new ParleyError('forbidden');
    }
    // refuse what create would refuse before making a dialog for it
    if (normalizeBody(params.body, ctx.config.MAX_BODY_CHARS) === null && params.file_id === null)
      throw bodyRequired();
    const dialogId = await pairDialog(ctx, caller.user_id, reviewerId);
    const data = await createMessage(
      ctx,
      caller,
      {
        dialog_id: dialogId,
        body: params.body,
        file_id: params.file_id,
        reply_id: null,
        lesson_id: params.lesson_id,
        client_id: params.client_id,
      },
      requestId,
    );
    return { data };
  };

async function pairDialog(ctx: DialogsContext, a: number, b: number): Promise<number> {
  const existing = await findPairDialog(ctx.sql, a, b);
  if (existing !== undefined) return existing;
  const pairKey = `${Math.min(a, b)}:${Math.max(a, b)}`;
  try {
    return await inTransaction(ctx.ds, (sql) =>
      insertDialog(sql, { withRole: null, pairKey, userIds: [a, b], now: nowUtc() }),
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const id = await findDialogByPairKey(ctx.sql, pairKey);
    if (id === undefined) throw err;
    return id;
  }
}
