/** Resolve a caller's access to a dialog (reads without locks; writes lock the dialog row first). */
import type { DialogRow } from '../db/entities/dialog.js';
import type { DialogMemberRow } from '../db/entities/dialog-member.js';
import type { UserRow } from '../db/entities/user.js';
import { findDialog, findMember, lockDialogWithMembers } from '../db/repositories/dialogs.js';
import { findUser } from '../db/repositories/users.js';
import type { Sql } from '../db/sql.js';
import { dialogNotFound, type View, viewOf } from '../domain/access.js';

export interface ReadAccess {
  dialog: DialogRow;
  caller: UserRow | undefined;
  view: View;
  member: DialogMemberRow | undefined;
}

export async function readAccess(sql: Sql, dialogId: number, userId: number): Promise<ReadAccess> {
  const dialog = await findDialog(sql, dialogId);
  if (!dialog) throw dialogNotFound();
  const [caller, member] = await Promise.all([findUser(sql, userId), findMember(sql, dialogId, userId)]);
  const view = viewOf(dialog, caller, member !== undefined);
  if (!view) throw dialogNotFound();
  return { dialog, caller, view, member };
}

export interface WriteAccess {
  dialog: DialogRow;
  /** the caller's users row, read only in a support dialog (the one place where a role decides the view) */
  caller: UserRow | undefined;
  view: View;
  /** every member row, locked, in position order */
  members: DialogMemberRow[];
}

/** Lock the dialog row then its member rows (the one lock order of every write, one query), and check access. */
export async function writeAccess(sql: Sql, dialogId: number, userId: number): Promise<WriteAccess> {
  const locked = await lockDialogWithMembers(sql, dialogId);
  if (!locked) throw dialogNotFound();
  // outside support dialogs the view depends on membership alone (domain/access.ts)
  const caller = locked.dialog.with_role === 'support' ? await findUser(sql, userId) : undefined;
  return writeAccessOf(locked, caller, userId);
}

/**
 * Access from the locked rows and the caller's users row (read by the caller, e.g. in the lock's
 * round trip; used only in a support dialog).
 */
export function writeAccessOf(
  locked: { dialog: DialogRow; members: DialogMemberRow[] } | undefined,
  callerRow: UserRow | undefined,
  userId: number,
): WriteAccess {
  if (!locked) throw dialogNotFound();
  const { dialog, members } = locked;
  const caller = dialog.with_role === 'support' ? callerRow : undefined;
  const view = viewOf(
    dialog,
    caller,
    members.some((m) => m.user_id === userId),
  );
  if (!view) throw dialogNotFound();
  return { dialog, caller, view, members };
}
