/**
 * The reviewer's queue moved by one new message, in its transaction (PROTOCOL.md §9): a message from
 * someone who does not answer starts a run when none is open; a message from someone who answers
 * (the support team in a support dialog, any staff role elsewhere) ends the open run and records the
 * response time. Authors are classified by their role when they write. Answers the users whose queue
 * moved (their awaiting frame is pushed), or none.
 */
import type { MemberState } from '@parley/protocol';
import type { DialogRow } from '../db/entities/dialog.js';
import type { DialogMemberRow } from '../db/entities/dialog-member.js';
import type { UserRow } from '../db/entities/user.js';
import type { QueueState } from '../db/repositories/awaiting.js';
import {
  answers,
  insertReplyTime,
  isStaff,
  setDialogAwaiting,
  setMembersAwaiting,
} from '../db/repositories/awaiting.js';
import type { TxSql } from '../db/sql.js';
import { formatDate } from '../dto/dates.js';

/** What one message does to the queue; the users and team counters are moved by the caller. */
export interface AwaitingMove {
  /** users whose queue (count or oldest) moved: they get a counters version and a queue frame */
  moved: number[];
  /** plain dialogs: staff members whose `awaiting_count` moves by `delta` (in the users UPDATE) */
  members: { ids: number[]; delta: 1 | -1 } | undefined;
  /** support dialogs: the team's `awaiting_count` moves by this (after the users UPDATE: lock order) */
  team: 0 | 1 | -1;
}

const NONE: AwaitingMove = { moved: [], members: undefined, team: 0 };

/**
 * Open or close the dialog's run for a new message: the dialog row and its member rows (locked by
 * this transaction) and a `reply_times` row are written here (queued with the transaction's next
 * round trip); the counters in `users` and `team_counters` are left to the caller, which writes them
 * in the one lock order of every counter write (users rows in key order, then the team counter).
 */
export async function moveAwaiting(
  sql: TxSql,
  dialog: DialogRow,
  members: DialogMemberRow[],
  author: UserRow | undefined,
  authorId: number,
  now: string,
  /** the caller's read of the members' users rows (plain dialogs: who answers, who awaits) */
  users: Map<number, UserRow>,
  /** the support users in key order (support dialogs), as the caller read them in this transaction */
  supportIds: number[],
): Promise<AwaitingMove> {
  const team = dialog.with_role === 'support';
  // support dialogs: the author's role; plain dialogs: every member's role
  const roles = new Map<number, string>();
  if (!team) {
    for (const m of members) {
      const role = users.get(m.user_id)?.role;
      if (role !== undefined) roles.set(m.user_id, role);
    }
  }
  const answering = answers(dialog.with_role, team ? author?.role : roles.get(authorId));
  const open = dialog.awaiting_since;
  if (answering ? open === null : open !== null) return NONE;
  const since = answering ? null : now;
  const delta = since === null ? -1 : 1;
  await setDialogAwaiting(sql, dialog.id, since);
  if (open !== null) {
    await insertReplyTime(sql, { dialogId: dialog.id, userId: authorId, team, since: open, repliedAt: now });
  }
  if (team) return { moved: supportIds, members: undefined, team: delta };
  const staff = [...roles].filter(([, role]) => isStaff(role)).map(([id]) => id);
  await setMembersAwaiting(sql, dialog.id, staff, since);
  return { moved: staff, members: { ids: staff, delta }, team: 0 };
}

/** The member states with the queue of each user whose queue moved (the notifier pushes it). */
export function withAwaiting(
  states: MemberState[],
  queues: Map<number, QueueState>,
  timeZone: string,
): MemberState[] {
  if (!queues.size) return states;
  return states.map((s) => {
    const q = queues.get(s.user_id);
    return q ? { ...s, awaiting: awaitingDto(q, timeZone) } : s;
  });
}

export function awaitingDto(q: QueueState, timeZone: string): { count: number; oldest_since: string | null } {
  return { count: q.count, oldest_since: q.oldest === null ? null : formatDate(q.oldest, timeZone) };
}
