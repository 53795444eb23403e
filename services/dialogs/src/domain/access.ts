/**
 * Who may see a dialog, and through which lens (PROTOCOL.md §4):
 * - `team`: a support user in a support dialog: member by role, shares the
 *   team's unread counter (unread messages not written by a support user);
 * - `member`: a row in dialog_members: own counter (unread messages by others).
 * Anyone else gets `not_found`, exactly as for a dialog that does not exist.
 */
import { ParleyError, type UserRole } from '@parley/protocol';

export type View = 'team' | 'member';

export function viewOf(
  dialog: { with_role: string | null },
  user: { role: UserRole } | undefined,
  isMember: boolean,
): View | null {
  if (dialog.with_role === 'support' && user?.role === 'support') return 'team';
  return isMember ? 'member' : null;
}

export function dialogNotFound(): ParleyError {
  return new ParleyError('not_found', { field: 'dialog_id' });
}
