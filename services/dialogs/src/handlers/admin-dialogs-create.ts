/** `admin.dialogs.create` (POST /api/admin/dialogs): a dialog of existing users, optionally a support dialog. */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findDialogs, insertDialog } from '../db/repositories/dialogs.js';
import { findUsers } from '../db/repositories/users.js';
import { inTransaction } from '../db/sql.js';
import { nowUtc } from '../dto/dates.js';
import { dialogDtos } from '../dto/dialogs.js';

export const adminDialogsCreate =
  (ctx: DialogsContext): Handler<'admin.dialogs.create'> =>
  async ({ users, with_role }) => {
    const userIds = [...new Set(users)];
    const found = await findUsers(ctx.sql, userIds);
    if (found.size !== userIds.length) throw ParleyError.invalid('users');
    const id = await inTransaction(ctx.ds, (sql) =>
      insertDialog(sql, { withRole: with_role, pairKey: null, userIds, now: nowUtc() }),
    );
    const [dto] = await dialogDtos(ctx.sql, ctx, await findDialogs(ctx.sql, [id]), null);
    return { data: dto! };
  };
