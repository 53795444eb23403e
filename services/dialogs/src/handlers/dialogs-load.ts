/**
 * `dialogs.load`: the caller's dialogs, newest activity first, with `meta`.
 * The list is a merge of index-ordered ranges read up to `offset + limit` rows
 * deep, so `offset` is capped (MAX_OFFSET) and one at or past `total` answers
 * an empty page without reading the list.
 */
import type { Handler } from '@parley/bus';
import type { DialogDto, PageMeta } from '@parley/protocol';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { isStaff, listAwaitingIds, readQueues } from '../db/repositories/awaiting.js';
import { countDialogs, findDialogs, listDialogIds } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import { dialogDtos } from '../dto/dialogs.js';

export const dialogsLoad =
  (ctx: DialogsContext): Handler<'dialogs.load'> =>
  async ({ caller, params }) => {
    if (params.offset > ctx.config.MAX_OFFSET) throw ParleyError.invalid('offset');
    const user = await findUser(ctx.sql, caller.user_id);
    const viewer = { id: caller.user_id, isSupport: user?.role === 'support' };
    if (params.filter === 'awaiting_reply') return awaitingPage(ctx, viewer, isStaff(user?.role), params);
    const total = await countDialogs(ctx.sql, viewer);
    const meta = { limit: params.limit, offset: params.offset, total };
    if (params.offset >= total) return { data: [], meta };
    const ids = await listDialogIds(ctx.sql, viewer, params.limit, params.offset);
    const data = await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), viewer);
    return { data, meta };
  };

/**
 * `filter: "awaiting_reply"` (PROTOCOL.md §9): the caller's queue, oldest `awaiting_reply_since`
 * first; `total` is the stored count, the page an index range (students: always empty).
 */
async function awaitingPage(
  ctx: DialogsContext,
  viewer: { id: number; isSupport: boolean },
  staff: boolean,
  params: { limit: number; offset: number },
): Promise<{ data: DialogDto[]; meta: PageMeta }> {
  const total = staff
    ? ((await readQueues(ctx.sql, [viewer.id], { oldest: false })).get(viewer.id)?.count ?? 0)
    : 0;
  const meta = { limit: params.limit, offset: params.offset, total };
  if (params.offset >= total) return { data: [], meta };
  const ids = await listAwaitingIds(ctx.sql, viewer.id, viewer.isSupport, params.limit, params.offset);
  return { data: await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), viewer), meta };
}
