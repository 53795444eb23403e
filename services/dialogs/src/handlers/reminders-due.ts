/**
 * `reminders.due` (the mailer's daily reminder, PROTOCOL.md §9): every staff user with a dialog
 * awaiting their reply since before `before`, with those dialogs oldest first. A daily job: one
 * index range per staff user (`(user_id, awaiting_since, …)`) and one for the team's dialogs.
 */
import type { Handler } from '@parley/bus';
import type { ReminderDue } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import type { UserRow } from '../db/entities/user.js';
import { STAFF_ROLES } from '../db/repositories/awaiting.js';
import { findMembersOf } from '../db/repositories/dialogs.js';
import { findUsers, USER_COLUMNS } from '../db/repositories/users.js';
import { placeholders, type Sql } from '../db/sql.js';
import { formatDate, utcAt } from '../dto/dates.js';

interface Waiting {
  id: number;
  since: string;
}

async function waiting(
  sql: Sql,
  query: string,
  params: unknown[],
): Promise<{ list: Waiting[]; total: number }> {
  const rows = await sql.rows<{ id: number; since: string; total: number }>(query, params);
  return {
    list: rows.map((r) => ({ id: Number(r.id), since: String(r.since) })),
    total: Number(rows[0]?.total ?? 0),
  };
}

const MEMBER_DUE = `SELECT dialog_id AS id, awaiting_since AS since,
    (SELECT COUNT(*) FROM dialog_members WHERE user_id = ? AND awaiting_since < ?) AS total
   FROM dialog_members WHERE user_id = ? AND awaiting_since < ? ORDER BY awaiting_since, dialog_id LIMIT ?`;
const TEAM_DUE = `SELECT id, awaiting_since AS since,
    (SELECT COUNT(*) FROM dialogs WHERE with_role = 'support' AND awaiting_since < ?) AS total
   FROM dialogs WHERE with_role = 'support' AND awaiting_since < ? ORDER BY awaiting_since, id LIMIT ?`;

const fullName = (u: UserRow | undefined) => (u ? `${u.first_name} ${u.last_name}`.trim() || u.email : '');

export const remindersDue =
  (ctx: DialogsContext): Handler<'reminders.due'> =>
  async ({ before, limit }) => {
    const cut = utcAt(before);
    const staff = await ctx.sql.rows<UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE role IN (${placeholders(STAFF_ROLES.length)}) ORDER BY id`,
      [...STAFF_ROLES],
    );
    let team: { list: Waiting[]; total: number } | undefined;
    const due: { user: UserRow; list: Waiting[]; total: number }[] = [];
    for (const u of staff) {
      const own = await waiting(ctx.sql, MEMBER_DUE, [u.id, cut, u.id, cut, limit]);
      let list = own.list;
      let total = own.total;
      if (u.role === 'support') {
        team ??= await waiting(ctx.sql, TEAM_DUE, [cut, cut, limit]);
        list = [...list, ...team.list]
          .sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.id - b.id))
          .slice(0, limit);
        total += team.total;
      }
      if (total > 0) due.push({ user: u, list, total });
    }
    const dialogIds = [...new Set(due.flatMap((d) => d.list.map((w) => w.id)))];
    const members = await findMembersOf(ctx.sql, dialogIds);
    const users = await findUsers(
      ctx.sql,
      members.map((m) => m.user_id),
    );
    const data: ReminderDue[] = due.map(({ user, list, total }) => ({
      user_id: user.id,
      email: user.email,
      first_name: user.first_name,
      last_name: user.last_name,
      email_notifications: Boolean(user.email_notifications),
      is_active: Boolean(user.is_active),
      total,
      dialogs: list.map((w) => ({
        dialog_id: w.id,
        awaiting_since: formatDate(w.since, ctx.config.TIME_ZONE),
        with: members
          .filter((m) => m.dialog_id === w.id && m.user_id !== user.id)
          .map((m) => fullName(users.get(m.user_id)))
          .filter((n) => n)
          .join(', '),
      })),
    }));
    return { data };
  };
