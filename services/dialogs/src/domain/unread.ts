/**
 * The unread rules, as pure functions. A message is unread while `date_read`
 * is null. It counts
 * - for every member row except its author's (member view), and
 * - for the support team of a support dialog when its author is not a support
 *   user (team view).
 * A member row of a support user in a support dialog is kept like any other
 * row but does not count towards that user's dialog total: the team view does.
 * Marking a message read takes it out of exactly the counters it was in.
 */
import type { UserRole } from '@parley/protocol';
import type { View } from './access.js';

export function countsForTeam(dialogRole: string | null, authorRole: UserRole | undefined): boolean {
  return dialogRole === 'support' && authorRole !== 'support';
}

/** May `viewer` (through `view`) mark a message of `author` read? Exactly when it is unread for them. */
export function countsForViewer(
  view: View,
  viewerId: number,
  author: { id: number; role: UserRole | undefined },
): boolean {
  return view === 'team' ? author.role !== 'support' : author.id !== viewerId;
}

/** Does a member row's counter count towards its user's number of unread dialogs? */
export function rowCountsForUser(dialogRole: string | null, userRole: UserRole | undefined): boolean {
  return !(dialogRole === 'support' && userRole === 'support');
}

/** Users whose unread-dialogs counter moves because their row went from zero to non-zero or back. */
export function transitions(
  before: Map<number, number>,
  after: Map<number, number>,
  countsForUser: (userId: number) => boolean,
): { up: number[]; down: number[] } {
  const up: number[] = [];
  const down: number[] = [];
  for (const [user, was] of before) {
    const now = after.get(user) ?? was;
    if (!countsForUser(user)) continue;
    if (was === 0 && now > 0) up.push(user);
    else if (was > 0 && now === 0) down.push(user);
  }
  return { up, down };
}
