/**
 * The per-member counters a domain event carries, read inside the write
 * transaction right after the change (one query): members (member view) and,
 * in a support dialog, every support user (team view). Each carries the user's
 * counters version; the flows bump it (users.bumpCounters) before this read for
 * every user whose counter frames the event will push, so value and version
 * belong together.
 */
import type { MemberState, Recipient } from '@parley/protocol';
import type { DialogRow } from '../db/entities/dialog.js';
import type { UserRow } from '../db/entities/user.js';
import { findAudienceUsers } from '../db/repositories/users.js';
import type { Sql } from '../db/sql.js';

export interface Audience {
  states: MemberState[];
  /** users by id (members, `also` and, for support dialogs, the team) */
  users: Map<number, UserRow>;
}

/**
 * @param dialog the dialog row after the change (team_unread current)
 * @param counters member id → the member row's unread counter after the change
 * @param changed whether a member's (member view) / the team's counters may have changed
 * @param also more users to read in the same query (e.g. the author, for the message DTO)
 */
export async function readAudience(
  sql: Sql,
  dialog: DialogRow,
  counters: Map<number, number>,
  changed: { member: (userId: number) => boolean; team: boolean },
  also: number[] = [],
): Promise<Audience> {
  const { users, team, teamTotal } = await findAudienceUsers(
    sql,
    [...counters.keys(), ...also],
    dialog.with_role === 'support',
  );
  const total = (u: UserRow) => u.unread_dialogs + (u.role === 'support' ? teamTotal : 0);
  const states: MemberState[] = [];
  for (const [userId, count] of counters) {
    const u = users.get(userId);
    if (!u || (dialog.with_role === 'support' && u.role === 'support')) continue;
    states.push({
      user_id: userId,
      dialogs_unread: total(u),
      dialog_unread: count,
      counters_changed: changed.member(userId),
      counters_version: Number(u.counters_version),
    });
  }
  for (const s of team) {
    states.push({
      user_id: s.id,
      dialogs_unread: total(s),
      dialog_unread: dialog.team_unread,
      counters_changed: changed.team,
      counters_version: Number(s.counters_version),
    });
  }
  return { states, users };
}

export function recipientOf(u: UserRow): Recipient {
  return {
    user_id: u.id,
    email: u.email,
    first_name: u.first_name,
    last_name: u.last_name,
    email_notifications: Boolean(u.email_notifications),
    is_active: Boolean(u.is_active),
    role: u.role,
  };
}
