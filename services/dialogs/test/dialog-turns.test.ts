/**
 * The writes of one busy dialog wait in the dialogs process, not on the dialog's row lock holding
 * pooled connections, so the other dialogs keep being written: `seen` writes take turns here
 * (dialog-turns.ts), creates queue in the group commit (db/group-commit.ts). Real MariaDB and NATS;
 * the rules of the turns themselves as pure logic first.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { createDialogTurns } from '../src/dialog-turns.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';

test('one dialog: at most two at a time, started in order, a failure does not stop the next; dialogs apart run together', async () => {
  const turns = createDialogTurns(2);
  const started: string[] = [];
  const running = new Map<number, number>();
  const most = new Map<number, number>();
  let bothDialogs = false;
  const step =
    (dialog: number, name: string, fail = false) =>
    async () => {
      started.push(name);
      running.set(dialog, (running.get(dialog) ?? 0) + 1);
      most.set(dialog, Math.max(most.get(dialog) ?? 0, running.get(dialog) ?? 0));
      if ((running.get(1) ?? 0) > 0 && (running.get(2) ?? 0) > 0) bothDialogs = true;
      await new Promise((r) => setImmediate(r));
      running.set(dialog, (running.get(dialog) ?? 1) - 1);
      if (fail) throw new Error(name);
      return name;
    };
  const a = ['a1', 'a2', 'a3', 'a4', 'a5'].map((n, i) => turns.run(1, step(1, n, i === 1)));
  const b = turns.run(2, step(2, 'b1'));
  expect(turns.size()).toBe(2);
  const settled = await Promise.allSettled([...a, b]);
  expect(settled.map((s) => s.status)).toEqual([
    'fulfilled',
    'rejected',
    'fulfilled',
    'fulfilled',
    'fulfilled',
    'fulfilled',
  ]);
  expect(started.filter((n) => n.startsWith('a'))).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  expect(most.get(1)).toBe(2);
  expect(bothDialogs).toBe(true);
  expect(turns.size()).toBe(0);
});

let h: StartedDialogs;

beforeAll(async () => {
  // a small pool: 24 writers of one dialog would hold all of it while they wait for its row lock
  h = await startDialogs({ config: { DB_POOL_SIZE: 3 } });
  for (const id of [1, 2, 3, 4]) await createUser(h.rpc, id);
});

afterAll(async () => {
  await h?.stop();
});

test('24 creates in flight into one dialog: a create into another dialog is answered before most of them', async () => {
  const busy = await createDialog(h.rpc, [1, 2]);
  const quiet = await createDialog(h.rpc, [3, 4]);
  const answeredAt: string[] = [];
  const send = (user: number, dialogId: number, tag: string) =>
    h.rpc
      .request('dialogs.messages.create', {
        caller: caller(user, 'c1'),
        params: { dialog_id: dialogId, body: tag } as { dialog_id: number },
      })
      .then(() => answeredAt.push(tag));
  const hot = Array.from({ length: 24 }, (_, i) => send(1 + (i % 2), busy.id, `busy ${i}`));
  const other = send(3, quiet.id, 'quiet');
  await Promise.all([...hot, other]);
  // the quiet dialog's create does not wait for the busy dialog's writers (in the pool's queue it
  // came after all 24 of them)
  expect(answeredAt.indexOf('quiet')).toBeLessThan(8);
  // and the busy dialog kept every message, numbered in commit order
  const page = await h.rpc.request('dialogs.messages.load', {
    caller: caller(1),
    params: { dialog_id: busy.id, limit: 50 } as { dialog_id: number },
  });
  expect(page.meta?.total).toBe(24);
}, 60_000);
