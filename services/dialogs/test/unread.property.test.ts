/**
 * Property: after every step of random create/seen operations (sometimes a
 * few at once) by several users over several dialogs, including support
 * dialogs, every viewer's `notifications.dialogs.count` and the per-dialog
 * counts of the touched dialog equal a ground truth computed with COUNT over
 * messages (which the service itself never does); every 25 steps, all of them.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import fc from 'fast-check';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';

let h: StartedDialogs;
const STUDENTS = [101, 102, 103, 104];
const REVIEWERS = [201, 202];
const SUPPORTS = [301, 302];
const USERS = [...STUDENTS, ...REVIEWERS, ...SUPPORTS];

interface DialogInfo {
  id: number;
  viewers: number[];
  messages: number[];
}
const dialogs: DialogInfo[] = [];

beforeAll(async () => {
  h = await startDialogs();
  for (const u of STUDENTS) await createUser(h.rpc, u);
  for (const u of REVIEWERS) await createUser(h.rpc, u, { role: 'reviewer' });
  for (const u of SUPPORTS) await createUser(h.rpc, u, { role: 'support' });
  const plan: [number[], 'support' | null][] = [
    [[101, 201], null],
    [[102, 201], null],
    [[101, 202], null],
    [[103, 104, 201], null],
    [[104, 301], null], // a support user as a plain member
    [[101], 'support'],
    [[102, 103], 'support'],
    [[103, 302], 'support'], // a support user listed in a support dialog
  ];
  for (const [members, role] of plan) {
    const d = await createDialog(h.rpc, members, role);
    const viewers = role === 'support' ? [...new Set([...members, ...SUPPORTS])] : members;
    dialogs.push({ id: d.id, viewers, messages: [] });
  }
});
afterAll(async () => {
  await h?.stop();
});

type Truth = Map<number, Map<number, number>>; // user → dialog → unread

async function groundTruth(): Promise<Truth> {
  const rows = await h.service.dataSource!.query(
    `SELECT v.user_id, v.dialog_id,
       (SELECT COUNT(*) FROM messages m JOIN users a ON a.id = m.user_id
         WHERE m.dialog_id = v.dialog_id AND m.date_read IS NULL
           AND (CASE WHEN v.team = 1 THEN a.role <> 'support' ELSE m.user_id <> v.user_id END)) AS n
     FROM (
       SELECT dm.user_id, dm.dialog_id, 0 AS team
         FROM dialog_members dm JOIN users u ON u.id = dm.user_id JOIN dialogs d ON d.id = dm.dialog_id
        WHERE NOT (COALESCE(d.with_role, '') = 'support' AND u.role = 'support')
       UNION ALL
       SELECT u.id, d.id, 1 FROM users u JOIN dialogs d ON d.with_role = 'support' WHERE u.role = 'support'
     ) v`,
  );
  const truth: Truth = new Map(USERS.map((u) => [u, new Map()]));
  for (const r of rows as { user_id: number; dialog_id: number; n: number }[]) {
    truth.get(r.user_id)?.set(r.dialog_id, Number(r.n));
  }
  return truth;
}

async function check(touched: number[] | 'all'): Promise<void> {
  const truth = await groundTruth();
  const checks: Promise<void>[] = [];
  for (const user of USERS) {
    const mine = truth.get(user)!;
    const expected = [...mine.values()].filter((n) => n > 0).length;
    checks.push(
      h.rpc.request('notifications.dialogs.count', { caller: caller(user), params: {} }).then((r) => {
        expect({ user, dialogs: r.data }).toEqual({ user, dialogs: expected });
      }),
    );
    for (const [dialogId, n] of mine) {
      if (touched !== 'all' && !touched.includes(dialogId)) continue;
      checks.push(
        h.rpc
          .request('notifications.dialogs.messages.count', {
            caller: caller(user),
            params: { dialog_id: dialogId },
          })
          .then((r) => expect({ user, dialogId, count: r.data.count }).toEqual({ user, dialogId, count: n })),
      );
    }
  }
  await Promise.all(checks);
}

const op = fc.record({
  kind: fc.constantFrom('create', 'create', 'seen', 'seen_up_to'),
  dialog: fc.nat(),
  viewer: fc.nat(),
  message: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});
type Op = { kind: string; dialog: number; viewer: number; message: number };

function describeOp(o: Op): string {
  const d = dialogs[o.dialog % dialogs.length]!;
  return `${o.kind} by ${d.viewers[o.viewer % d.viewers.length]} in dialog ${d.id}`;
}

async function run(o: Op): Promise<number> {
  const d = dialogs[o.dialog % dialogs.length]!;
  const user = d.viewers[o.viewer % d.viewers.length]!;
  if (o.kind === 'create' || d.messages.length === 0) {
    const { data } = await h.rpc.request('dialogs.messages.create', {
      caller: caller(user),
      params: { dialog_id: d.id, body: `m ${o.message}` },
    });
    d.messages.push(data.id);
    return d.id;
  }
  // bias towards recent messages, as real readers do
  const i = Math.floor(d.messages.length * (1 - o.message * o.message));
  const messageId = d.messages[Math.min(i, d.messages.length - 1)]!;
  await h.rpc.request('dialogs.messages.seen', {
    caller: caller(user),
    params: { dialog_id: d.id, message_id: messageId, up_to: o.kind === 'seen_up_to' },
  });
  return d.id;
}

test('unread counters equal the COUNT ground truth after every step', async () => {
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 150, maxLength: 250 }),
      async (batches) => {
        for (const [i, batch] of batches.entries()) {
          const touched = await Promise.all(batch.map(run));
          steps += batch.length;
          try {
            await check(steps % 25 < batch.length ? 'all' : touched);
          } catch (err) {
            // name the step that broke it: the whole counterexample is long
            const desc = batch.map((o) => describeOp(o)).join(' + ');
            throw new Error(`after batch ${i} (${desc}): ${(err as Error).message}`);
          }
        }
      },
    ),
    { numRuns: 6, endOnFailure: true },
  );
  await check('all');
  expect(steps).toBeGreaterThan(1100);
  // about 40 s on a quiet machine; a loaded CI machine running other suites beside it needs more
}, 300_000);
