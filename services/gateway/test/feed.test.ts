/**
 * The gateway's side of the feed (PROTOCOL.md §8) on the real NATS with real sockets, the test acting
 * as the notifier (appending entries to the feed stream): seq on pushes, the origin skip for live
 * delivery only, counters never older than the one a socket holds, and entries this gateway missed
 * while its NATS connection was down read back from the stream, in order and once.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { appendFeed, connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type FeedEntry, subjects } from '@parley/protocol';
import { connectWs, type Frame, natsUrl, type TestSocket, waitFor } from '@parley/testing';
import { createUser } from '../../dialogs/test/harness.js';
import {
  type Backend,
  captureLogger,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
const logs = captureLogger();
const sockets: TestSocket[] = [];
let next = 0;

const open = async (userId: number) => {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
};
const count = (n: number, version: number): FeedEntry => ({
  item: { event: 'notifications.dialogs.count', data: n },
  version,
});
const inDialog = (dialogId: number, n: number, version: number): FeedEntry => ({
  item: { event: 'notifications.dialogs.messages.count', data: { count: n, dialog_id: dialogId } },
  version,
});
const append = async (userId: number, entry: FeedEntry) => {
  const [r] = await appendFeed(nc, subjects(backend.prefix), userId, [{ entry, msgId: `test-${++next}` }]);
  if (r?.status !== 'fulfilled') throw r?.reason;
  return r.value;
};
const withSeq = (s: TestSocket) => s.frames.filter((f: Frame) => typeof f.seq === 'number');

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, { LOG_LEVEL: 'info' }, logs.logger);
  nc = await connectBus({ servers: [await natsUrl()], name: 'feed-test', logger: silentLogger() });
  for (const id of [401, 402, 403]) await createUser(backend.dialogs.rpc, id);
});

afterAll(async () => {
  for (const s of sockets) await s.close();
  await gw?.stop();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(subjects(backend.prefix).feedStream).catch(() => undefined);
  await nc.close();
  await backend?.stop();
});

test('a counter older than the one a socket holds is not sent; a newer one is', async () => {
  const sock = await open(401);
  const a = await append(401, count(5, 10));
  await append(401, count(4, 9));
  const c = await append(401, count(6, 11));
  await waitFor(() => withSeq(sock).length === 2, { what: 'two counter frames' });
  expect(withSeq(sock)).toEqual([
    { type: 'ws_send', event: 'notifications.dialogs.count', data: 5, seq: a.seq },
    { type: 'ws_send', event: 'notifications.dialogs.count', data: 6, seq: c.seq },
  ]);
  // a replay on a fresh socket collapses the counters to the newest one
  const fresh = await open(401);
  const answer = await fresh.request({ event: 'sync', since: 0 });
  expect(answer.data).toEqual({ seq: c.seq, replayed: 1 });
  expect(withSeq(fresh)).toEqual([
    { type: 'ws_send', event: 'notifications.dialogs.count', data: 6, seq: c.seq },
  ]);
});

test('the requesting socket skips its own frame live, but a replay includes it', async () => {
  const from = logs.lines.length;
  const origin = await open(402);
  const connId = logs.lines
    .slice(from)
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === 'connected' && l.user_id === 402)?.conn_id as string;
  expect(connId).toBeDefined();
  const other = await open(402);
  const own = await append(402, { ...inDialog(1, 1, 1), origin_conn: connId });
  const after = await append(402, inDialog(2, 2, 2));
  await waitFor(() => withSeq(other).length === 2 && withSeq(origin).length === 1, { what: 'the frames' });
  expect(withSeq(other).map((f) => f.seq)).toEqual([own.seq, after.seq]);
  expect(withSeq(origin).map((f) => f.seq)).toEqual([after.seq]);
  const replayed = await open(402);
  const answer = await replayed.request({ event: 'sync', since: own.seq - 1 });
  expect(answer.data).toEqual({ seq: after.seq, replayed: 2 });
  expect(withSeq(replayed).map((f) => f.seq)).toEqual([own.seq, after.seq]);
});

test('entries appended while the gateway was disconnected from NATS reach the socket after the reconnect, in order, once', async () => {
  const sock = await open(403);
  const first = await append(403, count(1, 1));
  await waitFor(() => withSeq(sock).length === 1, { what: 'the first frame' });

  // drop the gateway's NATS connection; append meanwhile through another connection
  const dropped = gw.nc.reconnect();
  const missed = [];
  for (let i = 2; i <= 4; i++) missed.push(await append(403, count(i, i)));
  await dropped;
  await waitFor(() => withSeq(sock).length === 4, { timeoutMs: 15_000, what: 'the missed frames' });
  const live = await append(403, count(5, 5));
  await waitFor(() => withSeq(sock).length === 5, { timeoutMs: 10_000, what: 'the live frame' });
  expect(withSeq(sock).map((f) => f.seq)).toEqual([first.seq, ...missed.map((m) => m.seq), live.seq]);
  expect(withSeq(sock).map((f) => f.data)).toEqual([1, 2, 3, 4, 5]);
  // they came back through the stream, not live
  const metrics = await (await fetch(`${gw.metricsUrl}/metrics`)).text();
  const filled = Number(/^parley_gateway_feed_gaps_filled_total (\d+)/m.exec(metrics)?.[1] ?? 0);
  expect(filled).toBeGreaterThanOrEqual(1);
});
