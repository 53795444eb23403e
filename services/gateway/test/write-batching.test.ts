/**
 * Frames written to one socket in one tick are corked into one write (docs/decisions.md §19). A healthy
 * client must never pay for that: with a send-buffer limit far below the size of a sync replay that is
 * written in one tick, the replay arrives whole, in order, and the socket stays open (corked bytes are
 * not a slow reader's backlog, 1013). A user's two sockets get the same frames (one encoding for both).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { appendFeed, connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type FeedEntry, subjects } from '@parley/protocol';
import { connectWs, type Frame, natsUrl, type TestSocket, waitFor } from '@parley/testing';
import { createUser } from '../../dialogs/test/harness.js';
import { type Backend, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
const sockets: TestSocket[] = [];
let next = 0;

const open = async (userId: number) => {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
};
const inDialog = (dialogId: number, n: number): FeedEntry => ({
  item: { event: 'notifications.dialogs.messages.count', data: { count: n, dialog_id: dialogId } },
  version: n,
});
const append = async (userId: number, entry: FeedEntry) => {
  const [r] = await appendFeed(nc, subjects(backend.prefix), userId, [
    { entry, msgId: `batching-${++next}` },
  ]);
  if (r?.status !== 'fulfilled') throw r?.reason;
  return r.value;
};
const withSeq = (s: TestSocket) => s.frames.filter((f: Frame) => typeof f.seq === 'number');

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, { MAX_BUFFERED_BYTES: '2048' });
  nc = await connectBus({ servers: [await natsUrl()], name: 'batching-test', logger: silentLogger() });
  for (const id of [601, 602]) await createUser(backend.dialogs.rpc, id);
});

afterAll(async () => {
  for (const s of sockets) await s.close();
  await gw?.stop();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(subjects(backend.prefix).feedStream).catch(() => undefined);
  await nc.close();
  await backend?.stop();
});

test('a replay far larger than the send-buffer limit reaches a healthy socket whole and in order; the socket stays open', async () => {
  const seqs: number[] = [];
  // distinct counters (one per dialog): a replay collapses only repeats of one counter
  for (let d = 1; d <= 80; d++) seqs.push((await append(601, inDialog(d, d))).seq);
  const s = await open(601);
  const answer = await s.request({ event: 'sync', since: seqs[0]! - 1 });
  expect(answer.data).toEqual({ seq: seqs.at(-1), replayed: 80 });
  const bytes = withSeq(s).reduce((n, f) => n + JSON.stringify(f).length, 0);
  expect(bytes).toBeGreaterThan(4 * 2048);
  expect(withSeq(s).map((f) => f.seq)).toEqual(seqs);
  // still open and answering
  const again = await s.request({ event: 'sync', since: seqs.at(-1)! });
  expect(again.data).toEqual({ seq: seqs.at(-1), replayed: 0 });
  expect(s.ws.readyState).toBe(1);
});

test("a user's two sockets get the same live frames, in order", async () => {
  const a = await open(602);
  const b = await open(602);
  const seqs: number[] = [];
  for (let d = 1; d <= 20; d++) seqs.push((await append(602, inDialog(d, d))).seq);
  await waitFor(() => withSeq(a).length === 20 && withSeq(b).length === 20, { what: 'both sockets' });
  expect(withSeq(a).map((f) => f.seq)).toEqual(seqs);
  expect(withSeq(b)).toEqual(withSeq(a));
});
