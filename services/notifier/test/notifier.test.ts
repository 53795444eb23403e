/** The notifier on the real NATS JetStream: events published as dialogs does, pushes watched on the user subjects. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  connectBus,
  type NatsConnection,
  publishEvent,
  type Subscription,
  subscribePushes,
} from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { type PushMessage, subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, waitFor } from '@parley/testing';
import { createNotifierService, type NotifierService } from '../src/app.js';
import { notifierConfigSpec } from '../src/config.js';
import { created, member, message, seen } from './events.js';

const logger = silentLogger();
const prefix = randomPrefix();
const s = subjects(prefix);
const conns: NatsConnection[] = [];
const services: NotifierService[] = [];
const got: Array<{ user: number; msg: PushMessage }> = [];
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

const of = (user: number) => got.filter((g) => g.user === user).map((g) => g.msg);
const events = (msgs: PushMessage[]) => msgs.flatMap((m) => m.items.map((i) => i.event));

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'notifier-test', logger });
  conns.push(nc);
  sub = subscribePushes(nc, s, '*', (user, msg) => got.push({ user, msg }));
  await nc.flush();
});

afterAll(async () => {
  for (const app of services) await app.stop().catch(() => undefined);
  sub.unsubscribe();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(s.eventStream).catch(() => undefined);
  await jsm.streams.delete(`KV_${s.leaseBucket('notifier')}`).catch(() => undefined);
  for (const c of conns) await c.close().catch(() => undefined);
});

describe('notifier', () => {
  test('created: the other member gets message then counters; the author skips it on the requesting socket', async () => {
    const app = await startNotifier();
    expect(app.active).toBe(true);
    const msg = message(101, 1, 10);
    await publishEvent(nc, s, created(msg, [member(10, 0, 0, false), member(11, 1, 1)], 'tab-1'));
    await waitFor(() => of(10).length === 1 && of(11).length === 1, { what: 'pushes' });
    const [toOther] = of(11);
    expect(toOther?.origin_conn).toBeUndefined();
    expect(toOther?.items).toEqual([
      { event: 'dialogs.messages.create', data: msg },
      { event: 'notifications.dialogs.count', data: 1 },
      { event: 'notifications.dialogs.messages.count', data: { count: 1, dialog_id: 1 } },
    ]);
    const [toAuthor] = of(10);
    expect(toAuthor).toEqual({
      items: [{ event: 'dialogs.messages.create', data: msg }],
      origin_conn: 'tab-1',
      skip_origin: [0],
    });
  });

  test('seen: the reader skips the seen frame on the requesting socket but gets its counters', async () => {
    got.length = 0;
    const msg = message(102, 2, 20);
    await publishEvent(nc, s, seen(msg, 21, [member(20, 3, 0, false), member(21, 0, 0)], 'tab-r'));
    await waitFor(() => of(20).length === 1 && of(21).length === 1, { what: 'pushes' });
    expect(events(of(20))).toEqual(['dialogs.messages.seen']);
    expect(of(20)[0]?.origin_conn).toBeUndefined();
    const [toReader] = of(21);
    expect(events([toReader as PushMessage])).toEqual([
      'dialogs.messages.seen',
      'notifications.dialogs.count',
      'notifications.dialogs.messages.count',
    ]);
    expect(toReader?.origin_conn).toBe('tab-r');
    expect(toReader?.skip_origin).toEqual([0]);
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
        .flatMap((m) => m.items)
        .filter((i) => i.event === 'notifications.dialogs.messages.count')
        .at(-1);
    await waitFor(() => (lastCount()?.data as { count: number } | undefined)?.count === n, {
      timeoutMs: 10_000,
      what: 'the last counter',
    });
    const items = of(31).flatMap((m) => m.items);
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

  test('two instances: one is active, every frame arrives once; when it stops the other takes over', async () => {
    got.length = 0;
    const second = await startNotifier();
    const first = services[0] as NotifierService;
    expect(first.active).toBe(true);
    expect(second.active).toBe(false);
    for (let i = 1; i <= 20; i++)
      await publishEvent(nc, s, created(message(2000 + i, 4, 40), [member(41, 1, i, false)]));
    await waitFor(() => of(41).length === 20, { what: '20 pushes' });
    await first.stop();
    await waitFor(() => second.active, { timeoutMs: 5_000, what: 'the standby to take over' });
    for (let i = 21; i <= 30; i++)
      await publishEvent(nc, s, created(message(2000 + i, 4, 40), [member(41, 1, i, false)]));
    await waitFor(() => of(41).length >= 30, { what: '30 pushes' });
    await nc.flush();
    const ids = of(41).map((m) => (m.items[0]?.data as { id: number } | undefined)?.id);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => 2001 + i));
  });
});
