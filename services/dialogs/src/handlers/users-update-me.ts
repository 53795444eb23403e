/** `users.update_me` (PATCH /api/users/me/): the caller's own e-mail preference. */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findUser, updateUser } from '../db/repositories/users.js';
import { nowUtc } from '../dto/dates.js';
import { userDto } from '../dto/users.js';

export const usersUpdateMe =
  (ctx: DialogsContext): Handler<'users.update_me'> =>
  async ({ caller, params }) => {
    await updateUser(ctx.sql, caller.user_id, { email_notifications: params.email_notifications }, nowUtc());
    const row = await findUser(ctx.sql, caller.user_id);
    if (!row) throw new ParleyError('not_found');
    return { data: userDto(row, ctx.presence) };
  };
