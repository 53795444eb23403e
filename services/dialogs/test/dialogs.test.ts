/** dialogs.load, support-team dialogs, new_message and the internal/admin commands, over NATS on MariaDB. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { placeholderMessage } from '@parley/protocol';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError, ISO_MICROS } from './support.js';

let h: StartedDialogs;
const online = new Set<number>([12]);

beforeAll(async () => {
  h = await startDialogs({ presence: { isOnline: (id) => online.has(id) } });
});
afterAll(async () => {
  await h?.stop();
});

const send = (user: number, dialog_id: number, body = 'hi') =>
  h.rpc.request('dialogs.messages.create', { caller: caller(user), params: { dialog_id, body } });
const loadDialogs = (user: number, params: { limit?: number | string; offset?: number | string } = {}) =>
  h.rpc.request('dialogs.load', { caller: caller(user), params });
const count = async (user: number) =>
  (await h.rpc.request('notifications.dialogs.count', { caller: caller(user), params: {} })).data;
const dialogCount = async (user: number, dialog_id: number) =>
  (
    await h.rpc.request('notifications.dialogs.messages.count', {
      caller: caller(user),
      params: { dialog_id },
    })
  ).data.count;

describe('dialogs.load', () => {
  const ME = 11;
  const PEERS = [12, 13, 14];
  let ids: number[];
  beforeAll(async () => {
    await createUser(h.rpc, ME, { first_name: 'Мария', last_name: 'Иванова' });
    for (const p of PEERS) await createUser(h.rpc, p, { role: 'reviewer' });
    ids = [];
    for (const p of PEERS) ids.push((await createDialog(h.rpc, [ME, p])).id);
  });

  test('an empty dialog has the placeholder last_message; `user` is the other party; users lists everyone', async () => {
    const { data, meta } = await loadDialogs(ME);
    expect(meta).toEqual({ limit: 20, offset: 0, total: 3 });
    const d = data.find((x) => x.id === ids[0])!;
    expect(d.last_message).toEqual(placeholderMessage());
    expect(d.user).toMatchObject({ id: 12, status_online: true });
    expect(d.users.map((u) => u.id)).toEqual([ME, 12]);
    expect(d.users[0]).toMatchObject({ first_name: 'Мария', status_online: false });
    expect(d).toMatchObject({ unread_messages_count: 0, with_role: null });
    expect(d.date_created).toMatch(ISO_MICROS);
  });

  test('newest activity first: a message moves its dialog up; empty dialogs count from creation', async () => {
    // created in order 0,1,2 → newest creation first
    expect((await loadDialogs(ME)).data.map((d) => d.id)).toEqual([ids[2], ids[1], ids[0]]);
    await send(13, ids[1]!, 'news');
    await send(12, ids[0]!, 'older news');
    await send(13, ids[1]!, 'latest');
    const { data } = await loadDialogs(ME);
    expect(data.map((d) => d.id)).toEqual([ids[1], ids[0], ids[2]]);
    expect(data[0]!.last_message).toMatchObject({ body: '<p>latest</p>', user: { id: 13 } });
    expect(data[0]!.unread_messages_count).toBe(2);
    expect(data[1]!.unread_messages_count).toBe(1);
    expect(await count(ME)).toBe(2);
  });

  test('limit and offset page the list; meta.total counts all', async () => {
    const a = await loadDialogs(ME, { limit: '2' });
    const b = await loadDialogs(ME, { limit: 2, offset: '2' });
    expect(a.data).toHaveLength(2);
    expect(b.data).toHaveLength(1);
    expect(b.meta).toEqual({ limit: 2, offset: 2, total: 3 });
    expect([...a.data, ...b.data].map((d) => d.id).sort()).toEqual([...ids].sort());
    expect((await loadDialogs(ME, { offset: 3 })).data).toEqual([]);
    await expectError(loadDialogs(ME, { limit: 101 }), 'validation_error', 'limit');
    await expectError(loadDialogs(ME, { offset: -5 }), 'validation_error', 'offset');
  });

  test('a user without dialogs gets an empty list and zero counts', async () => {
    expect(await loadDialogs(999)).toEqual({ data: [], meta: { limit: 20, offset: 0, total: 0 } });
    expect(await count(999)).toBe(0);
  });
});

describe('support-team dialogs', () => {
  const STUDENT = 21;
  const STUDENT2 = 22;
  const S1 = 31;
  const S2 = 32;
  let d: number;
  beforeAll(async () => {
    await createUser(h.rpc, STUDENT);
    await createUser(h.rpc, STUDENT2);
    await createUser(h.rpc, S1, { role: 'support' });
    await createUser(h.rpc, S2, { role: 'support' });
    d = (await createDialog(h.rpc, [STUDENT], 'support')).id;
  });

  test('every support user sees, loads and answers it; others do not', async () => {
    for (const s of [S1, S2]) {
      const list = (await loadDialogs(s)).data;
      expect(list.map((x) => x.id)).toContain(d);
      expect(list.find((x) => x.id === d)?.with_role).toBe('support');
    }
    await send(S1, d, 'hello from support');
    const page = await h.rpc.request('dialogs.messages.load', {
      caller: caller(S2),
      params: { dialog_id: d },
    });
    expect(page.data.map((m) => m.user.is_support)).toEqual([true]);
    await expectError(send(STUDENT2, d), 'not_found', 'dialog_id');
  });

  test('a student message counts once for the team; a support message does not count for other supports', async () => {
    const c1 = await count(S1);
    await send(STUDENT, d, 'help');
    await send(STUDENT, d, 'please');
    expect(await dialogCount(S1, d)).toBe(2);
    expect(await dialogCount(S2, d)).toBe(2);
    expect(await count(S2)).toBe(c1 + 1);
    await send(S2, d, 'on it');
    expect(await dialogCount(S1, d)).toBe(2);
    expect(await dialogCount(STUDENT, d)).toBeGreaterThanOrEqual(1);
  });

  test('one support reading marks it read for the team; reading a support message changes nothing', async () => {
    const page = (
      await h.rpc.request('dialogs.messages.load', { caller: caller(S1), params: { dialog_id: d } })
    ).data;
    const last = page[page.length - 1]!;
    expect(last.user.id).toBe(S2);
    const { data: same } = await h.rpc.request('dialogs.messages.seen', {
      caller: caller(S1),
      params: { dialog_id: d, message_id: last.id, up_to: true },
    });
    expect(same.date_read).toBeNull();
    expect(await dialogCount(S2, d)).toBe(0);
    expect(await dialogCount(S1, d)).toBe(0);
    expect(await dialogCount(STUDENT, d)).toBe(2);
    const loaded = (await loadDialogs(S2)).data.find((x) => x.id === d)!;
    expect(loaded.unread_messages_count).toBe(0);
    await h.rpc.request('dialogs.messages.seen', {
      caller: caller(STUDENT),
      params: { dialog_id: d, message_id: last.id, up_to: true },
    });
    expect(await dialogCount(STUDENT, d)).toBe(0);
  });

  test('a new support user joins the team view at once', async () => {
    await send(STUDENT, d, 'anyone?');
    await createUser(h.rpc, 33, { role: 'support' });
    expect(await dialogCount(33, d)).toBe(1);
    expect(await count(33)).toBe(1);
  });

  test('users.contacts: dialog partners; support dialogs add the team and the team sees their members', async () => {
    const contacts = async (user_id: number) => (await h.rpc.request('users.contacts', { user_id })).data;
    expect(await contacts(STUDENT)).toEqual(expect.arrayContaining([S1, S2, 33]));
    expect(await contacts(S1)).toEqual(expect.arrayContaining([STUDENT, S2, 33]));
    expect(await contacts(S1)).not.toContain(S1);
    expect(await contacts(STUDENT2)).toEqual([]);
    expect(await contacts(11)).toEqual([12, 13, 14]);
  });
});

test('a role change to or from support recounts the counters that depend on it', async () => {
  const [A, B, S] = [61, 62, 63];
  await createUser(h.rpc, A);
  await createUser(h.rpc, B);
  await createUser(h.rpc, S, { role: 'support' });
  const team = (await createDialog(h.rpc, [A], 'support')).id;
  const plain = (await createDialog(h.rpc, [A, B])).id;
  await send(A, team, 'help');
  await send(B, plain, 'hello');
  expect(await dialogCount(S, team)).toBe(1);
  const teamBefore = await count(S);
  await createUser(h.rpc, A, { role: 'support' });
  // A's message is now the team's own; A sees the team view plus their plain dialog
  expect(await dialogCount(S, team)).toBe(0);
  expect(await count(S)).toBe(teamBefore - 1);
  expect(await count(A)).toBe(teamBefore - 1 + 1);
  expect(await dialogCount(A, plain)).toBe(1);
  await createUser(h.rpc, A, { role: 'student' });
  expect(await dialogCount(S, team)).toBe(1);
  expect(await count(S)).toBe(teamBefore);
  expect(await count(A)).toBe(1);
});

describe('dialogs.new_message', () => {
  const STUDENT = 41;
  const REVIEWER = 42;
  const LONER = 43;
  beforeAll(async () => {
    await createUser(h.rpc, REVIEWER, { role: 'reviewer' });
    await createUser(h.rpc, STUDENT, { reviewer_id: REVIEWER });
    await createUser(h.rpc, LONER);
  });
  const post = (user: number, params: { body?: string | null; file_id?: number; client_id?: string }) =>
    h.rpc.request('dialogs.new_message', { caller: caller(user), params });

  test('finds or creates the dialog of exactly the two users, even under concurrent calls', async () => {
    const answers = await Promise.all([
      post(STUDENT, { body: 'a' }),
      post(STUDENT, { body: 'b' }),
      post(STUDENT, { body: 'c' }),
    ]);
    expect(new Set(answers.map((a) => a.data.dialog)).size).toBe(1);
    const d = answers[0]!.data.dialog;
    const list = (await loadDialogs(REVIEWER)).data;
    expect(list.filter((x) => x.users.some((u) => u.id === STUDENT))).toHaveLength(1);
    expect(list.find((x) => x.id === d)?.unread_messages_count).toBe(3);
    // an admin-made group dialog with a third user is not "exactly the two"
    expect((await post(STUDENT, { body: 'd' })).data.dialog).toBe(d);
  });

  test('no reviewer: forbidden; a body or a file is still required', async () => {
    await expectError(post(LONER, { body: 'x' }), 'forbidden');
    await expectError(post(STUDENT, { body: '  ' }), 'validation_error', 'body');
  });
});

describe('users and files', () => {
  test('upsert_from_claims creates a student with notifications on and refreshes given claims only', async () => {
    const { data: created } = await h.rpc.request('users.upsert_from_claims', {
      claims: { user_id: '51', email: 'a@x.io', first_name: 'A' },
    });
    expect(created).toMatchObject({
      id: 51,
      email: 'a@x.io',
      first_name: 'A',
      last_name: '',
      role: 'student',
      is_active: true,
      email_notifications: true,
      reviewer_id: null,
    });
    const { data: refreshed } = await h.rpc.request('users.upsert_from_claims', {
      claims: { user_id: 51, last_name: 'B' },
    });
    expect(refreshed).toMatchObject({ email: 'a@x.io', first_name: 'A', last_name: 'B' });
  });

  test('admin.users.upsert sets every field; inactive users are reported', async () => {
    const { data } = await h.rpc.request('admin.users.upsert', {
      id: 52,
      email: 'rev@x.io',
      first_name: 'R',
      last_name: 'V',
      github_url: 'https://github.com/r',
      avatar: '/media/a.png',
      role: 'reviewer',
      email_notifications: false,
      email_confirmed: true,
      is_active: false,
    });
    expect(data).toMatchObject({
      id: 52,
      avatar: '/media/a.png',
      github_url: 'https://github.com/r',
      role: 'reviewer',
      email_notifications: false,
      email_confirmed: true,
      is_active: false,
      is_support: false,
    });
    const { data: again } = await h.rpc.request('admin.users.upsert', { id: 52, role: 'support' });
    expect(again).toMatchObject({ is_support: true, email_confirmed: true, email: '' });
    await expectError(
      h.rpc.request('admin.users.upsert', { id: 53, role: 'king' as 'admin' }),
      'validation_error',
      'role',
    );
  });

  test('users.update_me changes the own preference', async () => {
    await createUser(h.rpc, 54);
    const { data } = await h.rpc.request('users.update_me', {
      caller: caller(54),
      params: { email_notifications: false },
    });
    expect(data).toMatchObject({ id: 54, email_notifications: false });
    await expectError(
      h.rpc.request('users.update_me', { caller: caller(55), params: { email_notifications: true } }),
      'not_found',
    );
  });

  test('files.create / files.get', async () => {
    const { data: f } = await h.rpc.request('files.create', {
      caller: caller(54),
      params: { storage_key: '2026/11/abc.txt', file_name: 'notes.txt', size: 3, content_type: 'text/plain' },
    });
    expect(f).toMatchObject({ content: '/media/2026/11/abc.txt', type: 1, size: 3 });
    const { data: g } = await h.rpc.request('files.get', { storage_key: '2026/11/abc.txt' });
    expect(g).toEqual({ ...f, owner_id: 54 });
    await expectError(h.rpc.request('files.get', { storage_key: 'nope' }), 'not_found');
    await expectError(
      h.rpc.request('files.create', {
        caller: caller(54),
        params: { storage_key: '2026/11/abc.txt', file_name: 'x', size: 1, content_type: 'text/plain' },
      }),
      'validation_error',
      'storage_key',
    );
    await expectError(
      h.rpc.request('files.create', {
        caller: caller(54),
        params: { storage_key: '../etc/passwd', file_name: 'x', size: 1, content_type: 'text/plain' },
      }),
      'validation_error',
      'storage_key',
    );
  });

  test('admin.dialogs.create refuses unknown users; admin.dialogs.list lists all or one user view', async () => {
    await expectError(
      h.rpc.request('admin.dialogs.create', { users: [54, 77777] }),
      'validation_error',
      'users',
    );
    const { data: d } = await h.rpc.request('admin.dialogs.create', { users: ['54', 54, 51] });
    expect(d.users.map((u) => u.id)).toEqual([54, 51]);
    expect(d.user).toMatchObject({ id: 54 });
    expect(d.last_message).toEqual(placeholderMessage());
    const { data: all } = await h.rpc.request('admin.dialogs.list', {});
    expect(all.map((x) => x.id)).toContain(d.id);
    const { data: mine } = await h.rpc.request('admin.dialogs.list', { user_id: 51 });
    expect(mine.map((x) => x.id)).toEqual([d.id]);
    expect(mine[0]!.user).toMatchObject({ id: 54 });
  });
});
