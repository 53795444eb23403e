/** `users.status.online`: the caller is online (they are asking over a live socket). */
import type { Handler } from '@parley/bus';

export const statusOnline =
  (): Handler<'users.status.online'> =>
  async ({ caller }) => ({
    data: { user_id: caller.user_id, status_online: true },
  });
