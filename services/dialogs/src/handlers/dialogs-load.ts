/**
 * `dialogs.load`: the caller's dialogs, newest activity first, with `meta`.
 * The list is a merge of index-ordered ranges read up to `offset + limit` rows
 * deep, so `offset` is capped (MAX_OFFSET) and one at or past `total` answers
 * an empty page without reading the list.
 */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { countDialogs, findDialogs, listDialogIds } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import { dialogDtos } from '../dto/dialogs.js';

export const dialogsLoad =
  (ctx: DialogsContext): Handler<'dialogs.load'> =>
  async ({ caller, params }) => {
    if (params.offset > ctx.config.MAX_OFFSET) throw ParleyError.invalid('offset');
    const user = await findUser(ctx.sql, caller.user_id);
    const viewer = { id: caller.user_id, isSupport: user?.role === 'support' };
    const total = await countDialogs(ctx.sql, viewer);
    const meta = { limit: params.limit, offset: params.offset, total };
    if (params.offset >= total) return { data: [], meta };
    const ids = await listDialogIds(ctx.sql, viewer, params.limit, params.offset);
    const data = await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, ids), viewer);
    return { data, meta };
  };
