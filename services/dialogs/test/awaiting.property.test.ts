/**
 * Property (PROTOCOL.md §9): over random sequences of messages by students, reviewers, admins and
 * support users in plain and support (team) dialogs, interleaved with role changes and
 * deactivations, every user's `notifications.dialogs.awaiting.count` and `dialogs.load {filter:
 * "awaiting_reply"}` (order, `meta.total`, each `awaiting_reply_since`) equal a ground-truth model
 * kept in the test: a run opens at the first message by someone who does not answer (in a team
 * dialog: a non-support user; elsewhere: a non-staff user, by their role when writing) and closes at
 * the next message by someone who does; a user's queue is the open runs of the plain dialogs they are
 * a staff member of, plus every open team dialog for support users. Deactivation changes nothing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import type { UserRole } from '@parley/protocol';
import fc from 'fast-check';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';

let h: StartedDialogs;
const ROLES = new Map<number, UserRole>([
  [101, 'student'],
  [102, 'student'],
  [103, 'student'],
  [201, 'reviewer'],
  [202, 'reviewer'],
  [251, 'admin'],
  [301, 'support'],
  [302, 'support'],
  [401, 'student'], // role changes: 401 and 402 move between roles during the run
  [402, 'reviewer'],
]);
const USERS = [...ROLES.keys()];
const MUTABLE = [401, 402];
const STAFF = new Set<UserRole>(['reviewer', 'support', 'admin']);

interface ModelDialog {
  id: number;
  team: boolean;
  members: number[];
  since: string | null;
}
const dialogs: ModelDialog[] = [];

beforeAll(async () => {
  h = await startDialogs();
  for (const [u, role] of ROLES) await createUser(h.rpc, u, { role });
  const plan: [number[], 'support' | null][] = [
    [[101, 201], null],
    [[102, 201], null],
    [[101, 202], null],
    [[103, 201, 202], null], // two reviewers: either answers for the dialog
    [[102, 251], null], // an admin
    [[201, 202], null], // staff only: never awaits
    [[101, 301], null], // a support user as a plain member
    [[401, 402], null], // both change roles
    [[103, 401], null],
    [[101], 'support'],
    [[102, 201], 'support'], // a reviewer in a team dialog does not answer for the team
    [[103, 302], 'support'],
    [[402], 'support'],
  ];
  for (const [members, role] of plan) {
    const d = await createDialog(h.rpc, members, role);
    dialogs.push({ id: d.id, team: role === 'support', members, since: null });
  }
});
afterAll(async () => {
  await h?.stop();
});

function writers(d: ModelDialog): number[] {
  if (!d.team) return d.members;
  return [...new Set([...d.members, ...USERS.filter((u) => ROLES.get(u) === 'support')])];
}

function answers(d: ModelDialog, role: UserRole): boolean {
  return d.team ? role === 'support' : STAFF.has(role);
}

function expectedQueue(user: number): ModelDialog[] {
  const role = ROLES.get(user)!;
  if (!STAFF.has(role)) return [];
  return dialogs
    .filter((d) => d.since !== null && (d.team ? role === 'support' : d.members.includes(user)))
    .sort((a, b) => (a.since! < b.since! ? -1 : a.since! > b.since! ? 1 : a.id - b.id));
}

async function check(): Promise<void> {
  await Promise.all(
    USERS.map(async (user) => {
      const queue = expectedQueue(user);
      const count = await h.rpc.request('notifications.dialogs.awaiting.count', {
        caller: caller(user),
        params: {},
      });
      expect({ user, ...count.data }).toEqual({
        user,
        count: queue.length,
        oldest_since: queue[0]?.since ?? null,
      });
      const page = await h.rpc.request('dialogs.load', {
        caller: caller(user),
        params: { limit: 100, offset: 0, filter: 'awaiting_reply' },
      });
      expect({
        user,
        total: page.meta?.total,
        page: page.data.map((d) => [d.id, d.awaiting_reply_since]),
      }).toEqual({ user, total: queue.length, page: queue.map((d) => [d.id, d.since]) });
    }),
  );
}

const op = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('create' as const), dialog: fc.nat(), writer: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('role' as const),
      user: fc.constantFrom(...MUTABLE),
      role: fc.constantFrom<UserRole>('student', 'reviewer', 'support', 'admin'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('active' as const),
      user: fc.constantFrom(...USERS),
      active: fc.boolean(),
    }),
  },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

async function run(o: Op): Promise<string> {
  if (o.kind === 'role') {
    await createUser(h.rpc, o.user, { role: o.role });
    ROLES.set(o.user, o.role);
    return `${o.user} becomes ${o.role}`;
  }
  if (o.kind === 'active') {
    await createUser(h.rpc, o.user, { role: ROLES.get(o.user)!, is_active: o.active });
    return `${o.user} active=${o.active}`;
  }
  const d = dialogs[o.dialog % dialogs.length]!;
  const list = writers(d);
  const user = list[o.writer % list.length]!;
  const { data } = await h.rpc.request('dialogs.messages.create', {
    caller: caller(user),
    params: { dialog_id: d.id, body: 'hello' },
  });
  const answering = answers(d, ROLES.get(user)!);
  if (answering) d.since = null;
  else if (d.since === null) d.since = data.date_created;
  return `${user} (${ROLES.get(user)}) writes in ${d.team ? 'team ' : ''}dialog ${d.id}`;
}

test('awaiting_reply_since, the awaiting count and the filtered load equal the model after every step', async () => {
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 60, maxLength: 100 }), async (ops) => {
      for (const [i, o] of ops.entries()) {
        const desc = await run(o);
        steps++;
        try {
          await check();
        } catch (err) {
          throw new Error(`after step ${i} (${desc}): ${(err as Error).message}`);
        }
      }
    }),
    { numRuns: 4, endOnFailure: true },
  );
  expect(steps).toBeGreaterThan(200);
}, 300_000);
