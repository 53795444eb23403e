/**
 * `notifications.dialogs.awaiting.count` (PROTOCOL.md §9): how many dialogs await the caller's reply
 * and the oldest date among them: a stored count and one index range read of length 1 per queue.
 */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { readQueues } from '../db/repositories/awaiting.js';
import { awaitingDto } from '../flows/awaiting.js';

export const awaitingCount =
  (ctx: DialogsContext): Handler<'notifications.dialogs.awaiting.count'> =>
  async ({ caller }) => {
    const q = (await readQueues(ctx.sql, [caller.user_id])).get(caller.user_id) ?? { count: 0, oldest: null };
    return { data: awaitingDto(q, ctx.config.TIME_ZONE) };
  };
