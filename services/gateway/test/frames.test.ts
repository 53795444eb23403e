/** Every client event end to end through the gateway and a real `dialogs`; the exact §2 envelopes; bad frames. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { DialogDto } from '@parley/protocol';
import { connectWs, type TestSocket } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { type Backend, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
let alice: TestSocket;
let bob: TestSocket;
let dialog: DialogDto;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  await createUser(backend.dialogs.rpc, 201, { first_name: 'Alice' });
  await createUser(backend.dialogs.rpc, 202, { first_name: 'Bob' });
  await createUser(backend.dialogs.rpc, 203);
  dialog = await createDialog(backend.dialogs.rpc, [201, 202]);
  await createDialog(backend.dialogs.rpc, [202, 203]);
  alice = await connectWs(gw.url, { token: await mintToken(201) });
  bob = await connectWs(gw.url, { token: await mintToken(202) });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await gw?.stop();
  await backend?.stop();
});

describe('each client event, end to end', () => {
  let messageId: number;

  test('dialogs.load answers the dialogs with meta and the echoed request_id', async () => {
    const answer = await alice.request({ event: 'dialogs.load', limit: 10, offset: 0 });
    expect(Object.keys(answer).sort()).toEqual(['data', 'event', 'meta', 'request_id', 'type']);
    expect(answer).toMatchObject({
      type: 'ws_send',
      event: 'dialogs.load',
      meta: { limit: 10, offset: 0, total: 1 },
    });
    expect(answer.data).toHaveLength(1);
    expect(answer.data[0]).toMatchObject({
      id: dialog.id,
      user: { id: 202, first_name: 'Bob' },
      with_role: null,
    });
    expect(answer.data[0].last_message.id).toBeNull();
  });

  test('dialogs.messages.create answers the message, with an integer request_id echoed', async () => {
    const from = alice.frames.length;
    alice.send({
      event: 'dialogs.messages.create',
      dialog_id: dialog.id,
      body: 'Hello **Bob**',
      request_id: 42,
    });
    const answer = await alice.next((f) => f.request_id === 42, { from });
    expect(Object.keys(answer).sort()).toEqual(['data', 'event', 'request_id', 'type']);
    expect(answer).toMatchObject({
      type: 'ws_send',
      event: 'dialogs.messages.create',
      data: {
        dialog: dialog.id,
        markdown_body: 'Hello **Bob**',
        user: { id: 201 },
        date_read: null,
        file: null,
      },
    });
    expect(answer.data.body).toContain('<strong>Bob</strong>');
    messageId = answer.data.id;
  });

  test('dialogs.messages.load takes numeric strings and answers with meta', async () => {
    const answer = await bob.request({
      event: 'dialogs.messages.load',
      dialog_id: String(dialog.id),
      limit: '5',
    });
    expect(answer).toMatchObject({
      type: 'ws_send',
      event: 'dialogs.messages.load',
      meta: { limit: 5, offset: 0, total: 1 },
    });
    expect(answer.data.map((m: { id: number }) => m.id)).toEqual([messageId]);
  });

  test('counters: notifications.dialogs.count and notifications.dialogs.messages.count', async () => {
    const count = await bob.request({ event: 'notifications.dialogs.count' });
    expect(count).toEqual({
      type: 'ws_send',
      event: 'notifications.dialogs.count',
      data: 1,
      request_id: count.request_id,
    });
    const perDialog = await bob.request({
      event: 'notifications.dialogs.messages.count',
      dialog_id: dialog.id,
    });
    expect(perDialog.data).toEqual({ count: 1, dialog_id: dialog.id });
  });

  test('dialogs.messages.search.id', async () => {
    const answer = await bob.request({
      event: 'dialogs.messages.search.id',
      dialog_id: dialog.id,
      message_id: String(messageId),
      limit: 20,
    });
    expect(answer).toMatchObject({ event: 'dialogs.messages.search.id', data: { offset: 0, limit: 20 } });
    expect(typeof answer.data.to_skip_count).toBe('number');
  });

  test('dialogs.messages.seen marks it read', async () => {
    const answer = await bob.request({
      event: 'dialogs.messages.seen',
      dialog_id: dialog.id,
      message_id: messageId,
    });
    expect(answer).toMatchObject({
      type: 'ws_send',
      event: 'dialogs.messages.seen',
      data: { id: messageId },
    });
    expect(answer.data.date_read).not.toBeNull();
    const count = await bob.request({ event: 'notifications.dialogs.count' });
    expect(count.data).toBe(0);
  });

  test('users.status.online for oneself', async () => {
    const answer = await bob.request({ event: 'users.status.online' });
    expect(answer.data).toEqual({ user_id: 202, status_online: true });
  });

  test('a frame without request_id gets an answer without one', async () => {
    const from = bob.frames.length;
    bob.send({ event: 'notifications.dialogs.count' });
    const answer = await bob.next((f) => f.event === 'notifications.dialogs.count', { from });
    expect(answer).toEqual({ type: 'ws_send', event: 'notifications.dialogs.count', data: 0 });
  });
});

describe('bad frames get error frames and the socket stays usable', () => {
  const errorAfter = async (s: TestSocket, raw: string) => {
    const from = s.frames.length;
    s.sendRaw(raw);
    return s.next((f) => f.exception === true, { from });
  };

  test('not JSON, not an object, no event → bad_request under event "error"', async () => {
    for (const raw of ['{nope', '[1,2]', '42', '"text"', 'null', '{}', '{"event": ""}']) {
      const frame = await errorAfter(alice, raw);
      expect(frame).toEqual({
        type: 'ws_send',
        event: 'error',
        exception: true,
        data: 'Некорректный запрос',
        error: { code: 'bad_request', message: expect.any(String) },
      });
    }
  });

  test('an unknown event → unknown_event under that event, request_id echoed', async () => {
    const frame = await errorAfter(alice, JSON.stringify({ event: 'dialogs.delete', request_id: 'x1' }));
    expect(frame).toEqual({
      type: 'ws_send',
      event: 'dialogs.delete',
      exception: true,
      data: 'Неизвестное событие',
      error: { code: 'unknown_event', message: 'Unknown event' },
      request_id: 'x1',
    });
  });

  test('a missing parameter → the exact envelope of PROTOCOL.md §2', async () => {
    const frame = await errorAfter(alice, JSON.stringify({ event: 'dialogs.messages.load' }));
    expect(frame).toEqual({
      type: 'ws_send',
      event: 'dialogs.messages.load',
      exception: true,
      data: 'Не указан `dialog_id`',
      error: { code: 'validation_error', message: 'dialog_id is required', field: 'dialog_id' },
    });
  });

  test('wrong types → validation_error naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ event: 'dialogs.messages.load', dialog_id: 'abc' }, 'dialog_id'],
      [{ event: 'dialogs.load', limit: 500 }, 'limit'],
      [{ event: 'dialogs.messages.create', dialog_id: dialog.id, body: 5 }, 'body'],
      [{ event: 'dialogs.messages.seen', dialog_id: dialog.id, message_id: 1, up_to: 'yes' }, 'up_to'],
      [{ event: 'dialogs.load', request_id: { a: 1 } }, 'request_id'],
    ];
    for (const [frame, field] of cases) {
      const answer = await errorAfter(alice, JSON.stringify(frame));
      expect(answer).toMatchObject({ exception: true, error: { code: 'validation_error', field } });
      expect(answer.data).toBe(`Некорректное значение \`${field}\``);
    }
  });

  test('a dialog the user is not in and one that does not exist answer the same not_found', async () => {
    const other = (await createDialog(backend.dialogs.rpc, [202, 203])).id;
    const a = await alice.request({ event: 'dialogs.messages.load', dialog_id: other });
    const b = await alice.request({ event: 'dialogs.messages.load', dialog_id: 999_999 });
    expect(a.error).toMatchObject({ code: 'not_found', message: 'Not found' });
    expect({ ...a, request_id: null }).toEqual({ ...b, request_id: null });
  });

  test('after all that, the same socket still answers', async () => {
    const answer = await alice.request({ event: 'notifications.dialogs.count' });
    expect(answer.data).toBe(0);
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });
});

test('MESSAGES_LOCALE=en gives English sentences', async () => {
  const en = await startGateway(backend.prefix, { MESSAGES_LOCALE: 'en' });
  const s = await connectWs(en.url, { token: await mintToken(201) });
  const answer = await s.request({ event: 'dialogs.messages.load' });
  expect(answer.data).toBe('dialog_id is required');
  await s.close();
  await en.stop();
});
