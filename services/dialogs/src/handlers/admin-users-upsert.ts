/**
 * `admin.users.upsert` (PUT /api/admin/users/{id}): text fields are replaced
 * (absent = empty), the others change only when given. A role change to or
 * from `support` recounts the counters that depend on it. `is_active: false`
 * is announced after the commit, and every gateway closes the user's sockets.
 */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { recountAwaitingAfterRoleChange } from '../db/repositories/awaiting.js';
import {
  findUser,
  insertUserIfMissing,
  type ProfileFields,
  recountAfterRoleChange,
  updateUser,
} from '../db/repositories/users.js';
import { inTransaction } from '../db/sql.js';
import { nowUtc } from '../dto/dates.js';
import { userRecordDto } from '../dto/users.js';

export const adminUsersUpsert =
  (ctx: DialogsContext): Handler<'admin.users.upsert'> =>
  async (req) => {
    const fields: ProfileFields = {
      email: req.email,
      first_name: req.first_name,
      last_name: req.last_name,
      github_url: req.github_url,
      avatar: req.avatar,
      role: req.role,
      reviewer_id: req.reviewer_id,
      email_notifications: req.email_notifications,
      email_confirmed: req.email_confirmed,
      is_active: req.is_active,
    };
    await inTransaction(ctx.ds, async (sql) => {
      const before = await sql.one<{ role: string }>('SELECT role FROM users WHERE id = ? FOR UPDATE', [
        req.id,
      ]);
      const now = nowUtc();
      if (!before) {
        await insertUserIfMissing(sql, req.id, fields, now);
        return;
      }
      await updateUser(sql, req.id, fields, now);
      const roleChanged = req.role !== undefined && req.role !== before.role;
      if (roleChanged && (req.role === 'support' || before.role === 'support')) {
        await recountAfterRoleChange(sql, req.id, req.role!);
      }
      // §9: the user's queue follows their new role (plain dialogs' runs as they stand; no push)
      if (roleChanged) await recountAwaitingAfterRoleChange(sql, req.id, req.role!);
    });
    // announced every time it is set (idempotent): a retried call still closes what is open
    if (req.is_active === false) ctx.userDeactivated?.(req.id);
    const row = await findUser(ctx.sql, req.id);
    if (!row) throw new ParleyError('internal');
    return { data: userRecordDto(row, ctx.presence) };
  };
