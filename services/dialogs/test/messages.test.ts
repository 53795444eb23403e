/** dialogs.messages.* over NATS on the real MariaDB: create, load, seen, search, and every refusal. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller, decode, HEADERS } from '@parley/bus';
import type { MessageDto } from '@parley/protocol';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { expectError, ISO_MICROS } from './support.js';

const MAX = 40;
let h: StartedDialogs;
const STUDENT = 1;
const OTHER = 2;
const REVIEWER = 3;
const OUTSIDER = 4;

beforeAll(async () => {
  h = await startDialogs({ config: { MAX_BODY_CHARS: MAX, TIME_ZONE: 'Europe/Moscow' } });
  await createUser(h.rpc, STUDENT);
  await createUser(h.rpc, OTHER);
  await createUser(h.rpc, REVIEWER, { role: 'reviewer' });
  await createUser(h.rpc, OUTSIDER);
});
afterAll(async () => {
  await h?.stop();
});

const send = (user: number, params: Record<string, unknown>) =>
  h.rpc.request('dialogs.messages.create', {
    caller: caller(user, 'c1'),
    params: params as { dialog_id: number },
  });
const load = (user: number, params: Record<string, unknown>) =>
  h.rpc.request('dialogs.messages.load', { caller: caller(user), params: params as { dialog_id: number } });
const seen = (user: number, params: Record<string, unknown>) =>
  h.rpc.request('dialogs.messages.seen', {
    caller: caller(user),
    params: params as { dialog_id: number; message_id: number },
  });
const unread = async (user: number, dialogId: number) =>
  (
    await h.rpc.request('notifications.dialogs.messages.count', {
      caller: caller(user),
      params: { dialog_id: dialogId },
    })
  ).data.count;
const dialogsUnread = async (user: number) =>
  (await h.rpc.request('notifications.dialogs.count', { caller: caller(user), params: {} })).data;
const newDialog = async () => (await createDialog(h.rpc, [STUDENT, REVIEWER])).id;
const file = (owner: number, key: string, type = 'image/png') =>
  h.rpc.request('files.create', {
    caller: caller(owner),
    params: { storage_key: key, file_name: 'Снимок экрана.png', size: 1234, content_type: type },
  });

describe('dialogs.messages.create', () => {
  test('stores the markdown, answers rendered HTML, author, dates with the zone offset and microseconds', async () => {
    const d = await newDialog();
    const { data: m } = await send(STUDENT, {
      dialog_id: d,
      body: 'hello **world** 😀\nline two',
      lesson_id: '77',
    });
    expect(m).toMatchObject({
      dialog: d,
      markdown_body: 'hello **world** 😀\nline two',
      body: '<p>hello <strong>world</strong> 😀<br />line two</p>',
      file: null,
      lesson: 77,
      reply: null,
      date_read: null,
      user: { id: STUDENT, email: `user${STUDENT}@example.com`, is_support: false, status_online: false },
    });
    expect(m.date_created).toMatch(ISO_MICROS);
    expect(m.date_created.endsWith('+03:00')).toBe(true);
  });

  test('accepts ids as numeric strings', async () => {
    const d = await newDialog();
    const { data: m } = await send(STUDENT, { dialog_id: String(d), body: 'x' });
    expect(m.dialog).toBe(d);
  });

  test('a foreign dialog and a missing one give the same not_found', async () => {
    const d = await newDialog();
    const foreign = send(OUTSIDER, { dialog_id: d, body: 'x' }).catch((e: unknown) => e);
    const missing = send(OUTSIDER, { dialog_id: 999_999, body: 'x' }).catch((e: unknown) => e);
    const [a, b] = await Promise.all([foreign, missing]);
    expect(a).toMatchObject({ code: 'not_found', field: 'dialog_id' });
    expect(b).toMatchObject({ code: 'not_found', field: 'dialog_id' });
    expect((a as Error).message).toBe((b as Error).message);
  });

  test('a body or a file is required; blank is absent', async () => {
    const d = await newDialog();
    await expectError(send(STUDENT, { dialog_id: d }), 'validation_error', 'body');
    await expectError(send(STUDENT, { dialog_id: d, body: null }), 'validation_error', 'body');
    await expectError(send(STUDENT, { dialog_id: d, body: '  \n\t ' }), 'validation_error', 'body');
    expect((await load(STUDENT, { dialog_id: d })).meta?.total).toBe(0);
  });

  test('MAX_BODY_CHARS counts characters: an emoji is one; one more is too_long', async () => {
    const d = await newDialog();
    const exact = '😀'.repeat(MAX);
    const { data } = await send(STUDENT, { dialog_id: d, body: exact });
    expect(data.markdown_body).toBe(exact);
    await expect(send(STUDENT, { dialog_id: d, body: 'a'.repeat(MAX + 1) })).rejects.toMatchObject({
      code: 'validation_error',
      field: 'body',
      reason: 'too_long',
    });
  });

  test('wrong types are refused by the schema with the field name', async () => {
    const d = await newDialog();
    await expectError(send(STUDENT, { dialog_id: 'abc', body: 'x' }), 'validation_error', 'dialog_id');
    await expectError(send(STUDENT, { dialog_id: d, body: 5 }), 'validation_error', 'body');
    await expectError(send(STUDENT, { dialog_id: d, body: 'x', file_id: -1 }), 'validation_error', 'file_id');
    await expectError(
      send(STUDENT, { dialog_id: d, body: 'x', client_id: 'k'.repeat(65) }),
      'validation_error',
      'client_id',
    );
  });

  test('a file of the sender: File DTO with /media path, absolute url and kind', async () => {
    const d = await newDialog();
    const { data: img } = await file(STUDENT, 'u1/2026/shot.png');
    const { data: doc } = await file(STUDENT, 'u1/2026/cv.pdf', 'application/pdf');
    expect(img).toMatchObject({
      content: '/media/u1/2026/shot.png',
      url: 'http://localhost:8000/media/u1/2026/shot.png',
      type: 2,
    });
    expect(doc.type).toBe(1);
    const { data: m } = await send(STUDENT, { dialog_id: d, file_id: img.id });
    expect(m.body).toBe('');
    expect(m.file).toEqual(img);
    const { data: m2 } = await send(STUDENT, { dialog_id: d, body: 'cv', file_id: String(doc.id) });
    expect(m2.file?.file_name).toBe('Снимок экрана.png');
  });

  test("someone else's file is forbidden, a missing one not_found, both naming file_id", async () => {
    const d = await newDialog();
    const { data: theirs } = await file(OTHER, 'u2/theirs.png');
    await expectError(send(STUDENT, { dialog_id: d, body: 'x', file_id: theirs.id }), 'forbidden', 'file_id');
    await expectError(send(STUDENT, { dialog_id: d, body: 'x', file_id: 987_654 }), 'not_found', 'file_id');
  });

  test('reply: a message of the same dialog, embedded without its own reply; else validation_error reply_id', async () => {
    const d = await newDialog();
    const other = await newDialog();
    const { data: first } = await send(STUDENT, { dialog_id: d, body: 'first' });
    const { data: second } = await send(REVIEWER, {
      dialog_id: d,
      body: 'second',
      reply_id: String(first.id),
    });
    expect(second.reply).toMatchObject({ id: first.id, body: '<p>first</p>', user: { id: STUDENT } });
    expect(second.reply).not.toHaveProperty('reply');
    const { data: third } = await send(STUDENT, { dialog_id: d, body: 'third', reply_id: second.id });
    expect(third.reply?.id).toBe(second.id);
    const { data: elsewhere } = await send(STUDENT, { dialog_id: other, body: 'elsewhere' });
    await expectError(
      send(STUDENT, { dialog_id: d, body: 'x', reply_id: elsewhere.id }),
      'validation_error',
      'reply_id',
    );
    await expectError(
      send(STUDENT, { dialog_id: d, body: 'x', reply_id: 999_999 }),
      'validation_error',
      'reply_id',
    );
  });

  test('client_id: a repeat answers the stored message and stores nothing', async () => {
    const d = await newDialog();
    const { data: a } = await send(STUDENT, { dialog_id: d, body: 'once', client_id: 'tab-1:42' });
    const { data: b } = await send(STUDENT, { dialog_id: d, body: 'once again?', client_id: 'tab-1:42' });
    expect(b).toEqual(a);
    expect((await load(STUDENT, { dialog_id: d })).meta?.total).toBe(1);
    expect(await unread(REVIEWER, d)).toBe(1);
    // the key is per author and case-sensitive
    const { data: c } = await send(REVIEWER, { dialog_id: d, body: 'mine', client_id: 'tab-1:42' });
    const { data: e } = await send(STUDENT, { dialog_id: d, body: 'upper', client_id: 'TAB-1:42' });
    expect(new Set([a.id, c.id, e.id]).size).toBe(3);
    // reusing a key in another dialog is refused
    const other = await newDialog();
    await expectError(
      send(STUDENT, { dialog_id: other, body: 'x', client_id: 'tab-1:42' }),
      'validation_error',
      'client_id',
    );
  });

  test('concurrent creates with one client_id store one message', async () => {
    const d = await newDialog();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => send(STUDENT, { dialog_id: d, body: 'race', client_id: 'same' })),
    );
    expect(new Set(answers.map((a) => a.data.id)).size).toBe(1);
    expect((await load(STUDENT, { dialog_id: d })).meta?.total).toBe(1);
  });
});

describe('dialogs.messages.load', () => {
  let d: number;
  let ids: number[];
  beforeAll(async () => {
    d = await newDialog();
    ids = [];
    for (let i = 0; i < 25; i++)
      ids.push((await send(i % 2 ? REVIEWER : STUDENT, { dialog_id: d, body: `m${i}` })).data.id);
  });

  test('default page: the newest 20, oldest first, meta with the total', async () => {
    const page = await load(STUDENT, { dialog_id: d });
    expect(page.data.map((m) => m.id)).toEqual(ids.slice(5));
    expect(page.meta).toEqual({ limit: 20, offset: 0, total: 25 });
  });

  test('offset counts from the newest; limit as a string; 0 and null mean the default', async () => {
    expect((await load(STUDENT, { dialog_id: d, limit: '10', offset: '20' })).data.map((m) => m.id)).toEqual(
      ids.slice(0, 5),
    );
    expect((await load(STUDENT, { dialog_id: d, limit: 3, offset: 1 })).data.map((m) => m.id)).toEqual(
      ids.slice(21, 24),
    );
    expect((await load(STUDENT, { dialog_id: d, limit: 0 })).meta?.limit).toBe(20);
    expect((await load(STUDENT, { dialog_id: d, limit: null, offset: null })).meta).toEqual({
      limit: 20,
      offset: 0,
      total: 25,
    });
    expect((await load(STUDENT, { dialog_id: d, limit: 100 })).data).toHaveLength(25);
    expect((await load(STUDENT, { dialog_id: d, offset: 25 })).data).toEqual([]);
    expect((await load(STUDENT, { dialog_id: d, offset: 1000 })).data).toEqual([]);
  });

  test('limit outside 1..100 and negative offsets are refused', async () => {
    await expectError(load(STUDENT, { dialog_id: d, limit: 101 }), 'validation_error', 'limit');
    await expectError(load(STUDENT, { dialog_id: d, limit: -1 }), 'validation_error', 'limit');
    await expectError(load(STUDENT, { dialog_id: d, limit: 'ten' }), 'validation_error', 'limit');
    await expectError(load(STUDENT, { dialog_id: d, offset: -1 }), 'validation_error', 'offset');
    await expectError(load(STUDENT, { dialog_id: d, limit: 2.5 }), 'validation_error', 'limit');
    await expectError(load(STUDENT, {}), 'validation_error', 'dialog_id');
  });

  test('before_id: the newest `limit` older messages, stable while new ones arrive', async () => {
    const page = await load(STUDENT, { dialog_id: d, limit: 5, before_id: ids[12] });
    expect(page.data.map((m) => m.id)).toEqual(ids.slice(7, 12));
    const first = await load(STUDENT, { dialog_id: d, limit: 4, before_id: String(ids[3]) });
    expect(first.data.map((m) => m.id)).toEqual(ids.slice(0, 3));
  });

  test('members only', async () => {
    await expectError(load(OUTSIDER, { dialog_id: d }), 'not_found', 'dialog_id');
    await expectError(load(STUDENT, { dialog_id: 999_999 }), 'not_found', 'dialog_id');
  });

  test('search.id: the offset of the page holding the message', async () => {
    for (const [index, limit] of [
      [24, 20],
      [5, 20],
      [4, 20],
      [0, 7],
      [13, 1],
      [10, '5'],
    ] as const) {
      const id = ids[index]!;
      const { data } = await h.rpc.request('dialogs.messages.search.id', {
        caller: caller(REVIEWER),
        params: { dialog_id: d, message_id: String(id), limit },
      });
      expect(data.limit).toBe(Number(limit));
      expect(data.to_skip_count).toBe(24 - index);
      expect(data.offset % Number(limit)).toBe(0);
      const page = await load(REVIEWER, { dialog_id: d, limit, offset: data.offset });
      expect(page.data.map((m) => m.id)).toContain(id);
    }
    const other = await newDialog();
    const { data: foreignMsg } = await send(STUDENT, { dialog_id: other, body: 'x' });
    await expectError(
      h.rpc.request('dialogs.messages.search.id', {
        caller: caller(STUDENT),
        params: { dialog_id: d, message_id: foreignMsg.id, limit: 20 },
      }),
      'not_found',
      'message_id',
    );
    await expectError(
      h.rpc.request('dialogs.messages.search.id', {
        caller: caller(OUTSIDER),
        params: { dialog_id: d, message_id: ids[0]!, limit: 20 },
      }),
      'not_found',
      'dialog_id',
    );
  });
});

describe('dialogs.messages.seen', () => {
  test('marks a message from someone else, keeps the first date_read, moves the counters once', async () => {
    const d = await newDialog();
    const before = await dialogsUnread(REVIEWER);
    const { data: m } = await send(STUDENT, { dialog_id: d, body: 'read me' });
    expect(await unread(REVIEWER, d)).toBe(1);
    expect(await dialogsUnread(REVIEWER)).toBe(before + 1);
    const { data: first } = await seen(REVIEWER, { dialog_id: d, message_id: String(m.id) });
    expect(first.date_read).toMatch(ISO_MICROS);
    const { data: again } = await seen(REVIEWER, { dialog_id: d, message_id: m.id });
    expect(again.date_read).toBe(first.date_read);
    expect(await unread(REVIEWER, d)).toBe(0);
    expect(await dialogsUnread(REVIEWER)).toBe(before);
  });

  test("the reader's own message stays unread", async () => {
    const d = await newDialog();
    const { data: m } = await send(STUDENT, { dialog_id: d, body: 'mine' });
    const { data } = await seen(STUDENT, { dialog_id: d, message_id: m.id });
    expect(data.date_read).toBeNull();
    expect(await unread(REVIEWER, d)).toBe(1);
  });

  test('up_to marks every earlier unread message from others, not later ones and not own ones', async () => {
    const d = await newDialog();
    const msgs: MessageDto[] = [];
    for (const [user, body] of [
      [STUDENT, 'a'],
      [REVIEWER, 'own'],
      [STUDENT, 'b'],
      [STUDENT, 'c'],
      [STUDENT, 'later'],
    ] as const) {
      msgs.push((await send(user, { dialog_id: d, body })).data);
    }
    expect(await unread(REVIEWER, d)).toBe(4);
    await seen(REVIEWER, { dialog_id: d, message_id: msgs[3]!.id, up_to: true });
    const page = (await load(REVIEWER, { dialog_id: d })).data;
    expect(page.map((m) => m.date_read !== null)).toEqual([true, false, true, true, false]);
    expect(await unread(REVIEWER, d)).toBe(1);
    expect(await unread(STUDENT, d)).toBe(1);
  });

  test('without up_to only the named message changes', async () => {
    const d = await newDialog();
    const { data: a } = await send(STUDENT, { dialog_id: d, body: 'a' });
    const { data: b } = await send(STUDENT, { dialog_id: d, body: 'b' });
    await seen(REVIEWER, { dialog_id: d, message_id: b.id });
    const page = (await load(REVIEWER, { dialog_id: d })).data;
    expect(page.find((m) => m.id === a.id)?.date_read).toBeNull();
    expect(await unread(REVIEWER, d)).toBe(1);
  });

  test('the message must belong to the dialog; members only', async () => {
    const d = await newDialog();
    const other = await newDialog();
    const { data: m } = await send(STUDENT, { dialog_id: other, body: 'x' });
    await expectError(seen(REVIEWER, { dialog_id: d, message_id: m.id }), 'not_found', 'message_id');
    await expectError(seen(REVIEWER, { dialog_id: d, message_id: 999_999 }), 'not_found', 'message_id');
    await expectError(seen(OUTSIDER, { dialog_id: other, message_id: m.id }), 'not_found', 'dialog_id');
    await expectError(seen(REVIEWER, { dialog_id: d }), 'validation_error', 'message_id');
    await expectError(
      seen(REVIEWER, { dialog_id: d, message_id: m.id, up_to: 'yes' }),
      'validation_error',
      'up_to',
    );
  });

  test('messages.count of a foreign dialog is not_found', async () => {
    const d = await newDialog();
    await expectError(
      h.rpc.request('notifications.dialogs.messages.count', {
        caller: caller(OUTSIDER),
        params: { dialog_id: d },
      }),
      'not_found',
      'dialog_id',
    );
    expect(
      (
        await h.rpc.request('notifications.dialogs.messages.count', {
          caller: caller(STUDENT),
          params: { dialog_id: String(d) },
        })
      ).data,
    ).toEqual({ count: 0, dialog_id: d });
  });
});

test('users.status.online answers for the caller', async () => {
  const { data } = await h.rpc.request('users.status.online', { caller: caller(OTHER), params: {} });
  expect(data).toEqual({ user_id: OTHER, status_online: true });
});

test('a request that is not JSON is bad_request; one without a caller names the field', async () => {
  const reply = await h.nc.request(h.subjects.rpc('dialogs.load'), new TextEncoder().encode('{oops'), {
    timeout: 5_000,
  });
  expect(reply.headers?.get(HEADERS.SERVICE_ERROR)).toBe('bad_request');
  expect(decode(reply.data)).toMatchObject({ code: 'bad_request' });
  await expectError(h.rpc.request('dialogs.load', { params: {} } as never), 'validation_error', 'caller');
});
