/**
 * The feed stream on the real NATS (docs/decisions.md §29): one stream message per push (a bundle),
 * frame seqs derived from its stream sequence, appends deduplicated by the bundle's first frame, and
 * messages stored before bundles (one bare entry each) still read, in seq order with the bundles.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  appendFeed,
  connectBus,
  createFeedReader,
  encode,
  ensureFeedStream,
  type FeedAppend,
  type FeedDelivery,
  type NatsConnection,
  type StoredFeedEntry,
  scanFeedCounters,
  subscribeFeed,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type FeedEntry, feedSeq, subjects } from '@parley/protocol';
import { message, natsUrl, randomPrefix, waitFor } from '@parley/testing';
import { headers as natsHeaders } from 'nats';

const s = subjects(randomPrefix());
let nc: NatsConnection;

const frame = (id: number): FeedEntry => ({
  item: { event: 'dialogs.messages.create', data: message(id, 1, 2) },
});
const count = (n: number, version: number): FeedEntry => ({
  item: { event: 'notifications.dialogs.count', data: n },
  version,
});
const inDialog = (n: number, version: number): FeedEntry => ({
  item: { event: 'notifications.dialogs.messages.count', data: { count: n, dialog_id: 1 } },
  version,
});
/** what the notifier appends for one created message: the frame, then the member's counters */
const push = (event: string, id: number, version: number, withCounters = true): FeedAppend[] => [
  { entry: frame(id), msgId: `${event}:frame` },
  ...(withCounters
    ? [
        { entry: count(id, version), msgId: `${event}:count` },
        { entry: inDialog(id, version), msgId: `${event}:count:1` },
      ]
    : []),
];

const append = async (userId: number, entries: FeedAppend[]) => {
  const results = await appendFeed(nc, s, userId, entries);
  return results.map((r) => {
    if (r.status !== 'fulfilled') throw r.reason;
    return r.value;
  });
};
const streamMessages = async () =>
  (await (await nc.jetstreamManager()).streams.info(s.feedStream)).state.messages;
const readAll = async (userId: number, after = 0, upto = Number.MAX_SAFE_INTEGER) => {
  const out: StoredFeedEntry[] = [];
  for await (const e of createFeedReader(nc, s).read(userId, after, upto)) out.push(e);
  return out;
};
/** a frame as `<event>:<data>`, a message frame's data its id */
const show = (e: FeedEntry | null | undefined) =>
  e?.item.event === 'dialogs.messages.create'
    ? `create:${e.item.data.id}`
    : `${e?.item.event}:${JSON.stringify(e?.item.data)}`;
const events = (entries: StoredFeedEntry[]) => entries.map((e) => show(e.entry));

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'feed-test', logger: silentLogger() });
  await ensureFeedStream(nc, s, { retentionMs: 3_600_000, duplicateWindowMs: 120_000 });
});

afterAll(async () => {
  await (await nc.jetstreamManager()).streams.delete(s.feedStream).catch(() => undefined);
  await nc.close();
});

test('a push is one stream message; its frames get consecutive seqs that live delivery, reads and latest agree on', async () => {
  const live: FeedDelivery[] = [];
  const sub = subscribeFeed(nc, s, 501, (_user, d) => live.push(d));
  await nc.flush();
  const before = await streamMessages();
  const first = await append(501, push('e1', 1, 1));
  const second = await append(501, push('e2', 2, 2));
  expect(await streamMessages()).toBe(before + 2);
  const seqs = [...first, ...second].map((r) => r.seq);
  expect(seqs[1]).toBe((seqs[0] as number) + 1);
  expect(seqs[2]).toBe((seqs[0] as number) + 2);
  expect(seqs[3]).toBeGreaterThan(seqs[2] as number);

  await waitFor(() => live.length === 6, { what: 'six live frames' });
  sub.unsubscribe();
  expect(live.map((d) => d.seq)).toEqual(seqs);
  // each frame names the one before it; the first of the second push a seq at or below the last one
  expect(live[1]?.last).toBe(seqs[0]);
  expect(live[3]?.last).toBeGreaterThan(0);
  expect(live[3]?.last).toBeLessThanOrEqual(seqs[2] as number);

  const stored = await readAll(501);
  expect(stored.map((e) => e.seq)).toEqual(seqs);
  expect(events(stored)).toEqual(live.map((d) => show(d.entry)));
  expect(await createFeedReader(nc, s).latest(501)).toBe(seqs[5]);
  // a read from the middle of a bundle starts right after it, and stops at `upto`
  expect((await readAll(501, seqs[1], seqs[4])).map((e) => e.seq)).toEqual(seqs.slice(2, 5));
});

test('a redelivered push stores nothing twice; counters held the first time are stored when they come with the frame', async () => {
  const first = await append(502, push('r1', 1, 1));
  const again = await append(502, push('r1', 1, 1));
  expect(again.every((r) => r.duplicate)).toBe(true);
  // the first time the counters were held (sent later); the redelivery carries them with the frame
  await append(502, push('r2', 2, 2, false));
  const redelivered = await append(502, push('r2', 2, 2));
  expect(redelivered.map((r) => r.duplicate)).toEqual([true, false, false]);
  const stored = await readAll(502);
  expect(events(stored)).toEqual([
    'create:1',
    'notifications.dialogs.count:1',
    'notifications.dialogs.messages.count:{"count":1,"dialog_id":1}',
    'create:2',
    'notifications.dialogs.count:2',
    'notifications.dialogs.messages.count:{"count":2,"dialog_id":1}',
  ]);
  expect(stored[0]?.seq).toBe(first[0]?.seq);
  // the takeover scan sees every counter of every bundle with its version
  const seen: string[] = [];
  await scanFeedCounters(nc, s, Date.now() - 60_000, (user, key, version) => {
    if (user === 502) seen.push(`${key}=${version}`);
  });
  expect(seen).toEqual(['count=1', 'count:1=1', 'count=2', 'count:1=2']);
});

test('more frames than a message holds go as several messages, in order', async () => {
  const entries: FeedAppend[] = Array.from({ length: 40 }, (_, i) => ({
    entry: {
      item: { event: 'notifications.dialogs.messages.count', data: { count: i, dialog_id: 100 + i } },
      version: 1,
    },
    msgId: `big:${i}`,
  }));
  const before = await streamMessages();
  const results = await append(503, entries);
  expect(await streamMessages()).toBe(before + 3);
  const seqs = results.map((r) => r.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  expect(new Set(seqs).size).toBe(40);
  expect((await readAll(503)).map((e) => e.seq)).toEqual(seqs);
});

test('a message stored before bundles (one bare entry) keeps its stream sequence as seq, below every bundle after it', async () => {
  const js = nc.jetstream();
  const h = natsHeaders();
  h.set('Parley-Counter', 'count');
  h.set('Parley-Counter-Version', '7');
  const legacy = await js.publish(s.feed(504), encode(count(3, 7)), { headers: h });
  const [bundled] = await append(504, [{ entry: frame(9), msgId: 'after-legacy' }]);
  expect(bundled?.seq).toBe(feedSeq(bundled ? Math.floor(bundled.seq / 16) : 0, 0));
  expect(bundled?.seq).toBeGreaterThan(legacy.seq);
  const stored = await readAll(504);
  expect(stored.map((e) => e.seq)).toEqual([legacy.seq, bundled?.seq]);
  expect(events(stored)[0]).toBe('notifications.dialogs.count:3');
  // a read after the legacy seq gives the bundle alone
  expect((await readAll(504, legacy.seq)).map((e) => e.seq)).toEqual([bundled?.seq]);
  const seen: string[] = [];
  await scanFeedCounters(nc, s, Date.now() - 60_000, (user, key, version) => {
    if (user === 504) seen.push(`${key}=${version}`);
  });
  expect(seen).toEqual(['count=7']);
});
