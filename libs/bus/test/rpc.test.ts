/** Request/reply on the real NATS: typed handler table, errors in service-error headers, unavailable. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  connectBus,
  createRpcClient,
  decode,
  HEADERS,
  type NatsConnection,
  type Server,
  serve,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { ParleyError, subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, sleep } from '@parley/testing';

const logger = silentLogger();
let nc: NatsConnection;
let server: Server;
const s = subjects(randomPrefix());
const seenRequestIds: (string | null)[] = [];

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'bus-test', logger });
  server = serve({
    nc,
    subjects: s,
    service: 'dialogs',
    logger,
    handlers: {
      'notifications.dialogs.count': async (req, ctx) => {
        seenRequestIds.push(ctx.requestId);
        return { data: req.caller.user_id * 10 };
      },
      // not async: this one throws before any promise exists
      'users.status.online': (req) => {
        if (req.caller.user_id === 13) throw new Error('sync failure near SECRET-DETAIL');
        return Promise.resolve({ data: { user_id: req.caller.user_id, status_online: true } });
      },
      'notifications.dialogs.messages.count': async (req) => {
        if (req.params.dialog_id === 404) throw new ParleyError('not_found');
        if (req.params.dialog_id === 500) throw new Error('SELECT secret FROM users: syntax error');
        if (req.params.dialog_id === 999) await sleep(2_000);
        return { data: { count: 3, dialog_id: req.params.dialog_id } };
      },
    },
  });
});

afterAll(async () => {
  await server.stop();
  await nc.close();
});

describe('serve + request', () => {
  test('typed request/reply through the queue group, request id in a header', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 2_000 });
    const reply = await rpc.request(
      'notifications.dialogs.count',
      { caller: { user_id: 7, conn_id: 'c1' }, params: {} },
      { requestId: 'req-42' },
    );
    expect(reply).toEqual({ data: 70 });
    expect(seenRequestIds).toContain('req-42');
  });

  test('string ids are coerced by the shared schema before the handler runs', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 2_000 });
    const reply = await rpc.request('notifications.dialogs.messages.count', {
      caller: { user_id: 1, conn_id: null },
      params: { dialog_id: '12' as unknown as number },
    });
    expect(reply.data).toEqual({ count: 3, dialog_id: 12 });
  });

  test('a ParleyError thrown by a handler comes back as the same code', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 2_000 });
    await expect(
      rpc.request('notifications.dialogs.messages.count', {
        caller: { user_id: 1, conn_id: null },
        params: { dialog_id: 404 },
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  test('validation failures name the field; the handler never runs', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 2_000 });
    await expect(
      rpc.request('notifications.dialogs.messages.count', {
        caller: { user_id: 1, conn_id: null },
        params: {} as { dialog_id: number },
      }),
    ).rejects.toMatchObject({ code: 'validation_error', field: 'dialog_id', reason: 'required' });
  });

  test('error headers and JSON body on the wire; an unexpected error leaks nothing', async () => {
    const msg = await nc.request(
      s.rpc('notifications.dialogs.messages.count'),
      new TextEncoder().encode(JSON.stringify({ caller: { user_id: 1 }, params: { dialog_id: 500 } })),
      { timeout: 2_000 },
    );
    expect(msg.headers?.get(HEADERS.SERVICE_ERROR)).toBe('internal');
    expect(msg.headers?.get(HEADERS.SERVICE_ERROR_CODE)).toBe('500');
    expect(decode(msg.data)).toEqual({ code: 'internal', message: 'Internal error' });
    expect(new TextDecoder().decode(msg.data)).not.toContain('SELECT');
  });

  test('a handler that throws synchronously answers internal, leaks nothing, and the server keeps serving', async () => {
    const raw = () =>
      nc.request(
        s.rpc('users.status.online'),
        new TextEncoder().encode(JSON.stringify({ caller: { user_id: 13 }, params: {} })),
        { timeout: 5_000 },
      );
    // more failures at once than the server's concurrency (64): every slot must come back
    const answers = await Promise.all(Array.from({ length: 80 }, raw));
    for (const msg of answers) {
      expect(msg.headers?.get(HEADERS.SERVICE_ERROR)).toBe('internal');
      expect(decode(msg.data)).toEqual({ code: 'internal', message: 'Internal error' });
      expect(new TextDecoder().decode(msg.data)).not.toContain('SECRET');
    }
    const rpc = createRpcClient(nc, s, { timeoutMs: 5_000 });
    expect(
      await rpc.request('users.status.online', { caller: { user_id: 14, conn_id: null }, params: {} }),
    ).toEqual({ data: { user_id: 14, status_online: true } });
    expect(
      await rpc.request('notifications.dialogs.count', { caller: { user_id: 2, conn_id: null }, params: {} }),
    ).toEqual({ data: 20 });
  });

  test('a request that is not JSON is bad_request', async () => {
    const msg = await nc.request(s.rpc('notifications.dialogs.count'), new TextEncoder().encode('{oops'), {
      timeout: 2_000,
    });
    expect(msg.headers?.get(HEADERS.SERVICE_ERROR)).toBe('bad_request');
  });

  test('no responders → unavailable, at once', async () => {
    const rpc = createRpcClient(nc, subjects(randomPrefix()), { timeoutMs: 5_000 });
    const started = Date.now();
    await expect(
      rpc.request('notifications.dialogs.count', { caller: { user_id: 1, conn_id: null }, params: {} }),
    ).rejects.toMatchObject({ code: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  test('a handler slower than the timeout → unavailable', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 300 });
    await expect(
      rpc.request('notifications.dialogs.messages.count', {
        caller: { user_id: 1, conn_id: null },
        params: { dialog_id: 999 },
      }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });
  test('300 requests in flight on one connection: each gets its own answer', async () => {
    const rpc = createRpcClient(nc, s, { timeoutMs: 10_000 });
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, k) =>
        rpc.request('notifications.dialogs.messages.count', {
          caller: { user_id: 1, conn_id: null },
          params: { dialog_id: k + 1 },
        }),
      ),
    );
    expect(answers.map((a) => (a.data as { dialog_id: number }).dialog_id)).toEqual(
      Array.from({ length: 300 }, (_, k) => k + 1),
    );
  });

  test('a request on a closed connection → unavailable', async () => {
    const closed = await connectBus({ servers: [await natsUrl()], name: 'bus-test-closed', logger });
    const rpc = createRpcClient(closed, s, { timeoutMs: 5_000 });
    await closed.close();
    await expect(
      rpc.request('notifications.dialogs.count', { caller: { user_id: 1, conn_id: null }, params: {} }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });
});
