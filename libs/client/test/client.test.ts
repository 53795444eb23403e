/**
 * @parley/client against the real services: dialogs (MariaDB), the notifier (pushes) and a gateway with
 * real sockets, all on this suite's prefix. Node 20 has no global WebSocket, so the `ws` package is
 * passed in, as a Node user of the client would.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { natsUrl, waitFor } from '@parley/testing';
import WebSocket from 'ws';
import { createDialog, createUser } from '../../../services/dialogs/test/harness.js';
import {
  type Backend,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from '../../../services/gateway/test/helpers.js';
import { createNotifierService, type NotifierService } from '../../../services/notifier/src/app.js';
import { notifierConfigSpec } from '../../../services/notifier/src/config.js';
import {
  type ConnectionState,
  type MessageDto,
  ParleyClient,
  ParleyClientError,
  type ParleyClientOptions,
} from '../src/index.js';

const WAIT = { timeoutMs: 15_000 };
const logger = silentLogger();
let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
let notifier: NotifierService;
let dialogId: number;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  nc = await connectBus({ servers: [await natsUrl()], name: 'client-test', logger });
  const { config } = parseConfig(notifierConfigSpec, {
    NATS_URL: await natsUrl(),
    SUBJECT_PREFIX: backend.prefix,
  });
  notifier = createNotifierService({ config, nc, logger });
  await notifier.start();
  await createUser(backend.dialogs.rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(backend.dialogs.rpc, 2, { first_name: 'Boris', last_name: 'Ivanov' });
  dialogId = (await createDialog(backend.dialogs.rpc, [1, 2])).id;
}, 60_000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await notifier?.stop();
  await gw?.stop();
  await backend?.stop();
  if (!nc) return;
  const s = subjects(backend.prefix);
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, `KV_${s.leaseBucket('notifier')}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  await nc.close();
}, 60_000);

/** A connected client of `userId` (closed after the test); `WebSocket` is the `ws` package. */
async function client(userId: number, opts: Partial<ParleyClientOptions> = {}): Promise<ParleyClient> {
  const c = new ParleyClient({
    url: gw.url,
    token: () => mintToken(userId),
    WebSocket,
    backoff: { initialMs: 100, maxMs: 1000 },
    ...opts,
  });
  clients.push(c);
  await c.connect();
  return c;
}

/** Everything `c` receives under `event`, in order. */
function collect<T>(c: ParleyClient, event: 'dialogs.messages.create' | 'notifications.dialogs.count'): T[] {
  const got: T[] = [];
  c.on(event, (data: unknown) => got.push(data as T));
  return got;
}

async function messageCount(c: ParleyClient): Promise<number> {
  const page = await c.requestWithMeta('dialogs.messages.load', { dialog_id: dialogId, limit: 1 });
  return page.meta!.total;
}

test('request → typed answer (with meta on a paginated load); each call gets its own answer', async () => {
  const a = await client(1);
  expect(a.state).toBe('open');
  const [dialogs, count, online] = await Promise.all([
    a.request('dialogs.load', { limit: 10 }),
    a.request('notifications.dialogs.count', {}),
    a.request('users.status.online', {}),
  ]);
  expect(dialogs.map((d) => d.id)).toContain(dialogId);
  expect(dialogs.find((d) => d.id === dialogId)!.user.first_name).toBe('Boris');
  expect(count).toBe(0);
  expect(online).toEqual({ user_id: 1, status_online: true });
  const created = await a.request('dialogs.messages.create', { dialog_id: dialogId, body: 'hello **B**' });
  expect(created.body).toContain('<strong>B</strong>');
  // integers may be numeric strings, as the schema's input says
  const page = await a.requestWithMeta('dialogs.messages.load', { dialog_id: String(dialogId), limit: 5 });
  expect(page.data.at(-1)!.id).toBe(created.id);
  expect(page.meta).toMatchObject({ limit: 5, offset: 0, total: expect.any(Number) });
});

test('error answers reject with ParleyClientError carrying the catalogue code and the field', async () => {
  const a = await client(1);
  const missing = await a.request('dialogs.messages.load', { dialog_id: 987_654 }).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(ParleyClientError);
  expect(missing).toMatchObject({ code: 'not_found', kind: 'server', event: 'dialogs.messages.load' });
  expect((missing as ParleyClientError).retryable).toBe(false);

  const tooLong = await a
    .request('dialogs.messages.create', { dialog_id: dialogId, body: 'x'.repeat(10_001) })
    .catch((e: unknown) => e as ParleyClientError);
  expect(tooLong).toMatchObject({ code: 'validation_error', field: 'body', kind: 'server' });
  // the human sentence of the frame (ru by default) is kept for display
  expect((tooLong as ParleyClientError).sentence).toMatch(/body/);

  // a parameter the types forbid still reaches the server's validation, never a crash
  const bad = await a
    .request('dialogs.messages.load', { dialog_id: 'abc' } as unknown as { dialog_id: number })
    .catch((e: unknown) => e);
  expect(bad).toMatchObject({ code: 'validation_error', field: 'dialog_id' });
  // the socket is still fine
  await expect(a.request('notifications.dialogs.count', {})).resolves.toEqual(expect.any(Number));
});

test("pushes reach typed handlers: the other member's message, then the counters", async () => {
  const a = await client(1);
  const b = await client(2);
  const messages = collect<MessageDto>(b, 'dialogs.messages.create');
  const totals = collect<number>(b, 'notifications.dialogs.count');
  const errors: Error[] = [];
  b.on('error', (e) => errors.push(e));
  const sent = await a.request('dialogs.messages.create', { dialog_id: dialogId, body: 'push me' });
  await waitFor(() => messages.find((m) => m.id === sent.id), { ...WAIT, what: 'the push' });
  await waitFor(() => totals.at(-1) === 1, { ...WAIT, what: 'the counter push' });
  expect(messages.filter((m) => m.id === sent.id)).toHaveLength(1);
  // the gateway speaks PROTOCOL.md §8: the client tracks the highest seq it was pushed
  expect(b.seq).toBeGreaterThan(0);
  expect(errors).toEqual([]);
  await b.request('dialogs.messages.seen', { dialog_id: dialogId, message_id: sent.id, up_to: true });
});

test('the gateway restarts: the client reconnects by itself, a request made meanwhile is answered, pushes flow again', async () => {
  const a = await client(1);
  const b = await client(2);
  const states: ConnectionState[] = [];
  a.on('state', (s) => states.push(s));
  const reopened: boolean[] = [];
  a.on('open', (info) => reopened.push(info.reconnect));
  const pushes = collect<MessageDto>(a, 'dialogs.messages.create');

  const port = gw.gateway.port();
  await gw.stop();
  await waitFor(() => a.state === 'reconnecting', { ...WAIT, what: 'the client to notice' });
  // asked while no gateway runs: queued, sent on the next socket
  const during = a.request('notifications.dialogs.count', {}, { timeoutMs: 30_000 });
  gw = await startGateway(backend.prefix, { PORT: String(port) });
  await expect(during).resolves.toEqual(expect.any(Number));
  await waitFor(() => b.state === 'open', { ...WAIT, what: 'B to reconnect' });
  expect(reopened).toContain(true);
  expect(states).toContain('reconnecting');

  const sent = await b.request('dialogs.messages.create', { dialog_id: dialogId, body: 'after the restart' });
  await waitFor(() => pushes.find((m) => m.id === sent.id), { ...WAIT, what: 'a push after the restart' });
  await a.request('dialogs.messages.seen', { dialog_id: dialogId, message_id: sent.id, up_to: true });
}, 60_000);

test('resume (PROTOCOL.md §8): messages written while its gateway was down arrive after the reconnect, once each, in order', async () => {
  const a = await client(1);
  // the client knows where it stands in its feed (the first `sync` answered) before it goes away
  await waitFor(() => a.seq > 0, { ...WAIT, what: 'the first sync answer' });
  const other = await startGateway(backend.prefix);
  const writer = await client(2, { url: other.url });
  const pushes = collect<MessageDto>(a, 'dialogs.messages.create');
  const resyncs: unknown[] = [];
  a.on('resync', (r) => resyncs.push(r));

  const port = gw.gateway.port();
  await gw.stop();
  await waitFor(() => a.state === 'reconnecting', { ...WAIT, what: 'the client to notice' });
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await writer.request('dialogs.messages.create', { dialog_id: dialogId, body: `away ${i}` })).id,
    );
  }
  gw = await startGateway(backend.prefix, { PORT: String(port) });
  await waitFor(() => ids.every((id) => pushes.some((m) => m.id === id)), {
    ...WAIT,
    what: 'the missed messages replayed',
  });
  const got = pushes.map((m) => m.id).filter((id) => ids.includes(id));
  expect(got).toEqual(ids);
  expect(resyncs).toEqual([]);
  await a.request('dialogs.messages.seen', { dialog_id: dialogId, message_id: ids.at(-1)!, up_to: true });
  writer.close();
  await other.stop();
}, 60_000);

test('a create is never stored twice: the same client_id answers the same message, also across a restart', async () => {
  const a = await client(1);
  const before = await messageCount(a);
  const params = { dialog_id: dialogId, body: 'exactly once', client_id: 'retry-key-1' };
  const first = await a.request('dialogs.messages.create', params);
  const again = await a.request('dialogs.messages.create', params);
  expect(again.id).toBe(first.id);
  expect(await messageCount(a)).toBe(before + 1);

  // a create in flight when the gateway goes away: the client sends it again (same client_id) after
  // reconnecting, whether or not the first copy was stored
  const port = gw.gateway.port();
  const inFlight = a.request(
    'dialogs.messages.create',
    { dialog_id: dialogId, body: 'sent during a restart' },
    { timeoutMs: 30_000 },
  );
  await gw.stop();
  gw = await startGateway(backend.prefix, { PORT: String(port) });
  const stored = await inFlight;
  expect(stored.markdown_body).toBe('sent during a restart');
  const page = await a.request('dialogs.messages.load', { dialog_id: dialogId, limit: 10 });
  expect(page.filter((m) => m.markdown_body === 'sent during a restart')).toHaveLength(1);
  expect(await messageCount(a)).toBe(before + 2);
}, 60_000);

test('the token is refreshed before it expires: a new socket, no 4401, pushes keep coming', async () => {
  const refreshed: number[] = [];
  const closes: number[] = [];
  const a = await client(1, {
    token: () => mintToken(1, { ttlSec: 4 }),
    refreshToken: async () => {
      refreshed.push(Date.now());
      return mintToken(1, { ttlSec: 3600 });
    },
    refreshLeadMs: 2000,
  });
  a.on('close', (e) => closes.push(e.code));
  const opens: boolean[] = [];
  a.on('open', (info) => opens.push(info.reconnect));
  const pushes = collect<MessageDto>(a, 'dialogs.messages.create');
  await waitFor(() => refreshed.length === 1 && opens.length === 1, { ...WAIT, what: 'the refresh' });
  // past the first token's exp (4 s): the old socket would have been closed with 4401
  const expiredAt = Date.now() + 4000;
  await waitFor(() => Date.now() > expiredAt, { ...WAIT, what: 'the old token to expire' });
  expect(closes).toEqual([]);
  expect(a.state).toBe('open');
  const b = await client(2);
  const sent = await b.request('dialogs.messages.create', { dialog_id: dialogId, body: 'still here' });
  await waitFor(() => pushes.find((m) => m.id === sent.id), { ...WAIT, what: 'the push' });
  expect(pushes.filter((m) => m.id === sent.id)).toHaveLength(1);
  expect(refreshed).toHaveLength(1);
  await a.request('dialogs.messages.seen', { dialog_id: dialogId, message_id: sent.id, up_to: true });
}, 60_000);

test('closed with 4401: the refresh callback gives a new token and the client reconnects', async () => {
  let refreshes = 0;
  const closes: number[] = [];
  const a = await client(1, {
    token: () => mintToken(1, { ttlSec: 2 }),
    refreshToken: () => {
      refreshes += 1;
      return mintToken(1, { ttlSec: 3600 });
    },
    refreshLeadMs: 0, // no refresh ahead of time: wait for the server's 4401
  });
  a.on('close', (e) => closes.push(e.code));
  await waitFor(() => closes.includes(4401), { ...WAIT, what: 'the 4401 close' });
  await waitFor(() => a.state === 'open', { ...WAIT, what: 'the reconnect' });
  expect(refreshes).toBe(1);
  await expect(a.request('notifications.dialogs.count', {})).resolves.toEqual(expect.any(Number));
}, 60_000);

test('closed with 4401 and no refresh callback: `expired`, the client stops, calls reject', async () => {
  let expired = false;
  const a = await client(1, { token: () => mintToken(1, { ttlSec: 2 }) });
  a.on('expired', () => {
    expired = true;
  });
  await waitFor(() => expired, { ...WAIT, what: 'expired' });
  expect(a.state).toBe('closed');
  await expect(a.request('notifications.dialogs.count', {})).rejects.toMatchObject({ kind: 'closed' });
}, 30_000);

test('a token the gateway refuses: connect() gives up with `unavailable` naming the 401, and stops', async () => {
  const c = new ParleyClient({
    url: gw.url,
    token: await mintToken(1, { secret: 'not-the-gateway-secret-0123456789abcdef' }),
    WebSocket,
    backoff: { initialMs: 100, maxMs: 500 },
  });
  const err = await c.connect({ timeoutMs: 2000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ParleyClientError);
  expect(err).toMatchObject({ code: 'unavailable', kind: 'timeout', event: 'connect' });
  expect((err as Error).message).toMatch(/401/);
  expect(c.state).toBe('closed');
});
