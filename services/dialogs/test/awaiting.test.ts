/**
 * `dialogs.load {filter: "awaiting_reply"}` and `awaiting_reply_since` (PROTOCOL.md §9) as a client
 * sees them: oldest run first across plain and team dialogs, `limit`/`offset`/`meta`, the field in
 * the unfiltered list (null for students), an unknown filter refused, and a role change moving the
 * user's queue (recounted in the admin's transaction).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError, ISO_MICROS } from './support.js';

let h: StartedDialogs;
const STUDENT = 1;
const OTHER = 2;
const REVIEWER = 10;
const SUPPORT = 30;

beforeAll(async () => {
  h = await startDialogs();
  await createUser(h.rpc, STUDENT);
  await createUser(h.rpc, OTHER);
  await createUser(h.rpc, REVIEWER, { role: 'reviewer' });
  await createUser(h.rpc, SUPPORT, { role: 'support' });
});
afterAll(async () => {
  await h?.stop();
});

async function say(user: number, dialogId: number): Promise<string> {
  const { data } = await h.rpc.request('dialogs.messages.create', {
    caller: caller(user),
    params: { dialog_id: dialogId, body: 'text' },
  });
  return data.date_created;
}

const load = (user: number, params: Record<string, unknown>) =>
  h.rpc.request('dialogs.load', { caller: caller(user), params: params as { filter?: 'awaiting_reply' } });

test('the queue: oldest first, paged, with meta; the field in every list; students have none', async () => {
  const d1 = await createDialog(h.rpc, [STUDENT, REVIEWER]);
  const d2 = await createDialog(h.rpc, [OTHER, REVIEWER]);
  const d3 = await createDialog(h.rpc, [STUDENT, SUPPORT]);
  const team = await createDialog(h.rpc, [OTHER], 'support');
  const answered = await createDialog(h.rpc, [OTHER, REVIEWER, SUPPORT]);
  const s2 = await say(OTHER, d2.id); // oldest for the reviewer
  const sTeam = await say(OTHER, team.id);
  const s1 = await say(STUDENT, d1.id);
  await say(STUDENT, d1.id); // the run keeps its first date
  const s3 = await say(STUDENT, d3.id);
  await say(OTHER, answered.id);
  await say(SUPPORT, answered.id); // a support user answers a plain dialog for its staff members

  const all = await load(REVIEWER, { filter: 'awaiting_reply', limit: 100 });
  expect(all.data.map((d) => [d.id, d.awaiting_reply_since])).toEqual([
    [d2.id, s2],
    [d1.id, s1],
  ]);
  expect(all.meta).toEqual({ limit: 100, offset: 0, total: 2 });
  expect(s1).toMatch(ISO_MICROS);
  const second = await load(REVIEWER, { filter: 'awaiting_reply', limit: 1, offset: 1 });
  expect(second.data.map((d) => d.id)).toEqual([d1.id]);
  expect(second.meta).toEqual({ limit: 1, offset: 1, total: 2 });
  expect((await load(REVIEWER, { filter: 'awaiting_reply', offset: 2 })).data).toEqual([]);

  // a support user: its own plain dialog and the team's, merged in queue order
  const support = await load(SUPPORT, { filter: 'awaiting_reply' });
  expect(support.data.map((d) => [d.id, d.awaiting_reply_since])).toEqual([
    [team.id, sTeam],
    [d3.id, s3],
  ]);
  expect(support.meta?.total).toBe(2);

  // the unfiltered list carries the field: the staff user's date, null for students and answered dialogs
  const plain = await load(REVIEWER, { limit: 100 });
  expect(Object.fromEntries(plain.data.map((d) => [d.id, d.awaiting_reply_since]))).toEqual({
    [d1.id]: s1,
    [d2.id]: s2,
    [answered.id]: null,
  });
  const student = await load(STUDENT, { limit: 100 });
  expect(student.data.every((d) => d.awaiting_reply_since === null)).toBe(true);
  const studentQueue = await load(STUDENT, { filter: 'awaiting_reply' });
  expect({ data: studentQueue.data, total: studentQueue.meta?.total }).toEqual({ data: [], total: 0 });
  const count = await h.rpc.request('notifications.dialogs.awaiting.count', {
    caller: caller(STUDENT),
    params: {},
  });
  expect(count.data).toEqual({ count: 0, oldest_since: null });

  // an unknown filter is refused, naming it; null means none
  await expectError(load(REVIEWER, { filter: 'unread' }), 'validation_error', 'filter');
  expect((await load(REVIEWER, { filter: null, limit: 100 })).data).toHaveLength(3);
});

test('a role change recounts the queue: a student made reviewer takes the open runs of their dialogs', async () => {
  const u = 40;
  await createUser(h.rpc, u);
  const d = await createDialog(h.rpc, [STUDENT, u]);
  const since = await say(STUDENT, d.id);
  const before = await h.rpc.request('notifications.dialogs.awaiting.count', {
    caller: caller(u),
    params: {},
  });
  expect(before.data).toEqual({ count: 0, oldest_since: null });
  await createUser(h.rpc, u, { role: 'reviewer' });
  const after = await h.rpc.request('notifications.dialogs.awaiting.count', {
    caller: caller(u),
    params: {},
  });
  expect(after.data).toEqual({ count: 1, oldest_since: since });
  await createUser(h.rpc, u, { role: 'student' });
  const back = await h.rpc.request('notifications.dialogs.awaiting.count', { caller: caller(u), params: {} });
  expect(back.data).toEqual({ count: 0, oldest_since: null });
});

test('concurrent writers in many dialogs: the stored count and queue equal the runs the messages leave', async () => {
  const reviewer = 60;
  await createUser(h.rpc, reviewer, { role: 'reviewer' });
  const students = Array.from({ length: 12 }, (_, i) => 600 + i);
  for (const s of students) await createUser(h.rpc, s);
  const dialogs = [];
  for (const s of students) dialogs.push(await createDialog(h.rpc, [s, reviewer]));
  // every dialog at once: a student's messages interleaved with the reviewer's replies
  await Promise.all(
    dialogs.map(async (d, i) => {
      const student = students[i]!;
      await Promise.all([
        say(student, d.id),
        say(student, d.id),
        i % 2 ? say(reviewer, d.id) : Promise.resolve(''),
      ]);
      if (i % 3 === 0) await say(reviewer, d.id);
    }),
  );
  // the truth from the messages as stored: awaiting while the newest message is a student's, since the
  // first student message after the reviewer's last one
  const expected: [number, string][] = [];
  for (const d of dialogs) {
    const { data } = await h.rpc.request('dialogs.messages.load', {
      caller: caller(reviewer),
      params: { dialog_id: d.id, limit: 100 },
    });
    let since: string | null = null;
    for (const msg of data) {
      if (msg.user.id === reviewer) since = null;
      else since ??= msg.date_created;
    }
    if (since !== null) expected.push([d.id, since]);
  }
  expected.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] - b[0]));
  const queue = await load(reviewer, { filter: 'awaiting_reply', limit: 100 });
  expect(queue.data.map((d) => [d.id, d.awaiting_reply_since])).toEqual(expected);
  const count = await h.rpc.request('notifications.dialogs.awaiting.count', {
    caller: caller(reviewer),
    params: {},
  });
  expect(count.data).toEqual({ count: expected.length, oldest_since: expected[0]?.[1] ?? null });
});
