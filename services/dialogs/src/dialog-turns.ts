/**
 * At most `perDialog` writes of one dialog at a time in this process: the writes of a busy dialog
 * (create, seen) beyond that queue here, in arrival order, instead of at the dialog's row lock. They
 * are serialised anyway (each locks the dialog row first), but a write waiting for that lock holds a
 * pooled connection: 32 writers of one busy dialog filled a pool of 10 and every other dialog's
 * request waited behind them. Two at a time keeps the pipelining the row lock gives (the next write is
 * already at the server, waiting, when the previous commits; one at a time cost a quarter of the
 * dialog's rate in `npm run bench`'s `onedialog` phase) and leaves the rest of the pool to the other
 * dialogs. Several dialogs instances still meet at the row lock, `perDialog` waiters each at most.
 */
import { Limiter } from '@parley/bus';

export interface DialogTurns {
  /** run `fn` once fewer than `perDialog` earlier `run`s of `dialogId` in this process are running */
  run<T>(dialogId: number, fn: () => Promise<T>): Promise<T>;
  /** dialogs with a write running or queued */
  size(): number;
}

/** writes of one dialog at once per process (docs/decisions.md §24) */
export const WRITES_PER_DIALOG = 2;

export function createDialogTurns(perDialog = WRITES_PER_DIALOG): DialogTurns {
  /** a semaphore per dialog with a write running or queued, and how many runs hold it */
  const dialogs = new Map<number, { limiter: Limiter; runs: number }>();
  return {
    async run<T>(dialogId: number, fn: () => Promise<T>): Promise<T> {
      let d = dialogs.get(dialogId);
      if (!d) {
        d = { limiter: new Limiter(perDialog), runs: 0 };
        dialogs.set(dialogId, d);
      }
      d.runs++;
      try {
        return await d.limiter.run(fn);
      } finally {
        if (--d.runs === 0) dialogs.delete(dialogId);
      }
    },
    size: () => dialogs.size,
  };
}
