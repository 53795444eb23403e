/**
 * The notifier on the real NATS JetStream: events published as dialogs does, the users' feed entries
 * watched where gateways get them (republished to the push subjects with their seq).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  connectBus,
  type FeedDelivery,
  type NatsConnection,
  publishEvent,
  type Subscription,
  subscribeFeed,
} from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { type FeedEntry, NOTIFY_PARTITIONS, subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, waitFor } from '@parley/testing';
import { createNotifierService, type NotifierService } from '../src/app.js';
import { notifierConfigSpec } from '../src/config.js';
import { created, member, message, seen } from './events.js';

const logger = silentLogger();
const prefix = randomPrefix();
const s = subjects(prefix);
const conns: NatsConnection[] = [];
const services: NotifierService[] = [];
const got: Array<{ user: number; d: FeedDelivery }> = [];
let nc: NatsConnection;
let sub: Subscription;

async function startNotifier(extra: Record<string, string> = {}): Promise<NotifierService> {
  const c = await connectBus({ servers: [await natsUrl()], name: 'notifier-test', logger });
  conns.push(c);
  const { config } = parseConfig(notifierConfigSpec, {
    NATS_URL: await natsUrl(),
    SUBJECT_PREFIX: prefix,
    PUSH_COALESCE_MS: '200',
    LEADER_LEASE_SECONDS: '1',
    ...extra,
  });
  const app = createNotifierService({ config, nc: c, logger });
  await app.start();
  services.push(app);
  return app;
}

const of = (user: number) => got.filter((g) => g.user === user).map((g) => g.d.entry);
const seqsOf = (user: number) => got.filter((g) => g.user === user).map((g) => g.d.seq);
const events = (entries: FeedEntry[]) => entries.map((e) => e.item.event);

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'notifier-test', logger });
  conns.push(nc);
  sub = subscribeFeed(nc, s, '*', (user, d) => got.push({ user, d }));
  await nc.flush();
});

afterAll(async () => {
  for (const app of services) await app.stop().catch(() => undefined);
  sub.unsubscribe();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(s.eventStream).catch(() => undefined);
  await jsm.streams.delete(s.notifyStream).catch(() => undefined);
  await jsm.streams.delete(s.feedStream).catch(() => undefined);
  await jsm.streams.delete(`KV_${s.leaseBucket('notifier')}`).catch(() => undefined);
  for (const c of conns) await c.close().catch(() => undefined);
});

describe('notifier', () => {
  test('created: the other member gets message then counters; the author skips it on the requesting socket', async () => {
    const app = await startNotifier();
    expect(app.active).toBe(true);
    const msg = message(101, 1, 10);
    await publishEvent(
      nc,
      s,
      created(msg, [member(10, 0, 0, false), { ...member(11, 1, 1), counters_version: 7 }], 'tab-1'),
    );
    await waitFor(() => of(10).length === 1 && of(11).length === 3, { what: 'feed entries' });
    expect(of(11)).toEqual([
      { item: { event: 'dialogs.messages.create', data: msg } },
      { item: { event: 'notifications.dialogs.count', data: 1 }, version: 7 },
      {
        item: { event: 'notifications.dialogs.messages.count', data: { count: 1, dialog_id: 1 } },
        version: 7,
      },
    ]);
    expect(of(10)).toEqual([{ item: { event: 'dialogs.messages.create', data: msg }, origin_conn: 'tab-1' }]);
    // one stream: every entry has its own seq, growing in the order they were written
    const seqs = seqsOf(11);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set([...seqs, ...seqsOf(10)]).size).toBe(4);
  });

  test('seen: every member gets the seen frame then counters (§4.4); the reader skips only the seen frame on the requesting socket', async () => {
    got.length = 0;
    const msg = message(102, 2, 20);
    await publishEvent(nc, s, seen(msg, 21, [member(20, 3, 0, false), member(21, 0, 0)], 'tab-r'));
    await waitFor(() => of(20).length === 3 && of(21).length === 3, { what: 'feed entries' });
    // the author's counters did not move, but they come after the seen frame all the same
    expect(of(20)).toEqual([
      { item: { event: 'dialogs.messages.seen', data: expect.objectContaining({ id: 102 }) } },
      { item: { event: 'notifications.dialogs.count', data: 3 }, version: 0 },
      {
        item: { event: 'notifications.dialogs.messages.count', data: { count: 0, dialog_id: 2 } },
        version: 0,
      },
    ]);
    expect(events(of(21))).toEqual([
      'dialogs.messages.seen',
      'notifications.dialogs.count',
      'notifications.dialogs.messages.count',
    ]);
    expect(of(21).map((e) => e.origin_conn)).toEqual(['tab-r', undefined, undefined]);
  });

  test('a burst for one user: every message frame in order, the counter frames coalesced to the latest values', async () => {
    got.length = 0;
    const n = 50;
    for (let i = 1; i <= n; i++) {
      await publishEvent(
        nc,
        s,
        created(message(1000 + i, 3, 30), [member(30, 0, 0, false), member(31, 1, i)]),
      );
    }
    const lastCount = () =>
      of(31)
        .map((e) => e.item)
        .filter((i) => i.event === 'notifications.dialogs.messages.count')
        .at(-1);
    await waitFor(() => (lastCount()?.data as { count: number } | undefined)?.count === n, {
      timeoutMs: 10_000,
      what: 'the last counter',
    });
    const items = of(31).map((e) => e.item);
    const ids = items
      .filter((i) => i.event === 'dialogs.messages.create')
      .map((i) => (i.data as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => 1001 + i));
    const counters = items.filter((i) => i.event === 'notifications.dialogs.count');
    expect(counters.length).toBeGreaterThanOrEqual(1);
    expect(counters.length).toBeLessThan(n / 2);
    // every counter frame follows at least one message frame
    expect(items[0]?.event).toBe('dialogs.messages.create');
    const coalesced = await (services[0] as NotifierService).metrics.coalesced.get();
    expect(coalesced.values[0]?.value ?? 0).toBeGreaterThan(0);
  });

  test('two instances share the users: each consumes half the partitions, every frame arrives once, in order; when one stops the other takes its partitions', async () => {
    got.length = 0;
    const second = await startNotifier();
    const first = services[0] as NotifierService;
    const shared = () =>
      first.partitions().length === NOTIFY_PARTITIONS / 2 &&
      second.partitions().length === NOTIFY_PARTITIONS / 2 &&
      new Set([...first.partitions(), ...second.partitions()]).size === NOTIFY_PARTITIONS;
    await waitFor(shared, { timeoutMs: 15_000, what: 'the partitions to be shared 8 and 8' });
    const framesOf = async (app: NotifierService) =>
      (await app.metrics.frames.get()).values.reduce((sum, v) => sum + v.value, 0);
    const before = [await framesOf(first), await framesOf(second)];
    // 40 receivers spread over the partitions, 5 messages each, in one dialog per receiver
    const receivers = Array.from({ length: 40 }, (_, i) => 400 + i);
    for (let i = 1; i <= 5; i++) {
      for (const r of receivers) {
        await publishEvent(nc, s, created(message(r * 100 + i, r, 40), [member(r, 1, i, false)]));
      }
    }
    await waitFor(() => receivers.every((r) => of(r).length === 5), { what: 'every receiver gets 5' });
    const share = async () => [
      (await framesOf(first)) - (before[0] ?? 0),
      (await framesOf(second)) - (before[1] ?? 0),
    ];
    // an instance counts a frame once the server acknowledged it, a moment after sockets may have it
    await waitFor(async () => (await share()).reduce((a, b) => a + b, 0) >= 200, {
      what: 'every frame counted',
    });
    const [one, two] = await share();
    // each instance wrote the frames of its own users: both took part, together exactly once each
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
    expect((one ?? 0) + (two ?? 0)).toBe(200);
    for (const r of receivers) {
      expect(of(r).map((e) => (e.item.data as { id: number }).id)).toEqual(
        [1, 2, 3, 4, 5].map((i) => r * 100 + i),
      );
    }

    await first.stop();
    await waitFor(() => second.partitions().length === NOTIFY_PARTITIONS, {
      timeoutMs: 5_000,
      what: 'the other instance to take every partition',
    });
    for (const r of receivers)
      await publishEvent(nc, s, created(message(r * 100 + 6, r, 40), [member(r, 1, 6, false)]));
    await waitFor(() => receivers.every((r) => of(r).length >= 6), { what: 'the sixth message everywhere' });
    await nc.flush();
    for (const r of receivers) {
      expect(of(r).map((e) => (e.item.data as { id: number }).id)).toEqual(
        [1, 2, 3, 4, 5, 6].map((i) => r * 100 + i),
      );
    }
  });

  test('a counter older than one already in the feed is never appended, also by an instance that took over', async () => {
    got.length = 0;
    const jsm = await nc.jetstreamManager();
    const drained = () =>
      waitFor(
        async () => {
          // the partitions' stream is a work queue: empty once every copy was acknowledged
          const info = await jsm.streams.info(s.notifyStream);
          return info.state.messages === 0;
        },
        { timeoutMs: 10_000, what: 'the notifier to ack everything' },
      );
    const receiver = (count: number, version: number) => ({
      ...member(51, count, count),
      counters_version: version,
    });
    const counters = () => of(51).filter((e) => e.item.event !== 'dialogs.messages.create');
    const send = (id: number, count: number, version: number) =>
      publishEvent(nc, s, created(message(id, 5, 50), [member(50, 0, 0, false), receiver(count, version)]));

    await send(3001, 2, 9);
    await waitFor(() => counters().length === 2, { what: 'the first counters' });
    // an event committed earlier but handled later (e.g. redelivered after a crash): older counters
    await send(3002, 1, 8);
    await waitFor(() => of(51).some((e) => (e.item.data as { id?: number }).id === 3002), {
      what: 'its message',
    });
    await drained();
    expect(counters().map((e) => e.version)).toEqual([9, 9]);

    // a fresh instance learns from the feed what the previous one appended
    for (const app of services) await app.stop();
    const next = await startNotifier();
    await waitFor(() => next.active, { timeoutMs: 10_000, what: 'the new instance to be active' });
    await send(3003, 1, 8);
    await send(3004, 3, 10);
    await waitFor(() => counters().length === 4, { timeoutMs: 10_000, what: 'the newer counters' });
    await drained();
    expect(counters().map((e) => e.version)).toEqual([9, 9, 10, 10]);
    expect(counters().at(-1)?.item).toEqual({
      event: 'notifications.dialogs.messages.count',
      data: { count: 3, dialog_id: 5 },
    });
    const stale = await next.metrics.staleCounters.get();
    expect(stale.values[0]?.value).toBe(2);
  });
});
