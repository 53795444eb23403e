/** `users.contacts`: who shares a dialog with the user (presence fan-out). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { findContacts, findUser } from '../db/repositories/users.js';

export const usersContacts =
  (ctx: DialogsContext): Handler<'users.contacts'> =>
  async ({ user_id }) => {
    const user = await findUser(ctx.sql, user_id);
    return { data: await findContacts(ctx.sql, user_id, user?.role) };
  };
