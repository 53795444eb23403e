/**
 * One write per dialog at a time in this process: the writes of a dialog (create, seen) queue here, in
 * arrival order, instead of in the database. They would be serialised anyway (each locks the dialog
 * row first), but a write waiting for that row lock holds a pooled connection and costs the server
 * CPU while it waits: 32 writers of one busy dialog filled a pool of 10 and starved every other
 * dialog, and the lock waits made MariaDB's CPU per message twice that of writers in separate dialogs
 * (docs/benchmarks.md "Many writers in one dialog"). Queued here, a dialog's next write takes a
 * connection once the previous one committed; other dialogs keep the rest of the pool. Several
 * dialogs instances still meet at the row lock, one waiter each at most.
 */
export interface DialogTurns {
  /** run `fn` after every earlier `run` of `dialogId` in this process settled */
  run<T>(dialogId: number, fn: () => Promise<T>): Promise<T>;
  /** dialogs with a write running or queued */
  size(): number;
}

export function createDialogTurns(): DialogTurns {
  const tails = new Map<number, Promise<unknown>>();
  return {
    run<T>(dialogId: number, fn: () => Promise<T>): Promise<T> {
      const prev = tails.get(dialogId);
      const mine = prev ? prev.then(fn, fn) : fn();
      const tail = mine.then(
        () => undefined,
        () => undefined,
      );
      tails.set(dialogId, tail);
      void tail.then(() => {
        if (tails.get(dialogId) === tail) tails.delete(dialogId);
      });
      return mine;
    },
    size: () => tails.size,
  };
}
