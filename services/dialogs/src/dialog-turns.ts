/**
 * At most `perDialog` `seen` writes of one dialog at a time in this process (creates queue in the
 * group commit, db/group-commit.ts, which holds no connection while they wait): the writes of a busy dialog
 * beyond that queue here, in arrival order, instead of at the dialog's row lock. They
 * are serialised anyway (each locks the dialog row first), but a write waiting for that lock holds a
 * pooled connection: 32 writers of one busy dialog filled a pool of 10 and every other dialog's
 * request waited behind them. Two at a time keeps the pipelining the row lock gives (the next write is
 * already at the server, waiting, when the previous commits; one at a time cost a quarter of the
 * dialog's rate in `npm run bench`'s `onedialog` phase) and leaves the rest of the pool to the other
 * dialogs. Several dialogs instances still meet at the row lock, `perDialog` waiters each at most.
 */
import { createKeyedLimiter, type KeyedLimiter } from '@parley/bus';

/** the writes of each dialog, `run(dialogId, fn)` */
export type DialogTurns = KeyedLimiter<number>;

/** writes of one dialog at once per process (docs/decisions.md §24) */
export const WRITES_PER_DIALOG = 2;

export function createDialogTurns(perDialog = WRITES_PER_DIALOG): DialogTurns {
  return createKeyedLimiter<number>(perDialog);
}
