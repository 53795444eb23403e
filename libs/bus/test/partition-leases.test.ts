/**
 * Partition leases on the real NATS: the running instances share the partitions out, a partition is
 * never worked on by two instances at once, one that stops gives its partitions back at once, one
 * that dies loses them when its keys expire, a partition given back while its acquisition runs does
 * not cut the acquisition of the ones kept, and a lease bucket that disappears is re-created.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  createPartitionLeases,
  kvStreamName,
  type NatsConnection,
  type PartitionLeases,
  shareOf,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, sleep, waitFor } from '@parley/testing';

const logger = silentLogger();
const P = 16;
const conns: NatsConnection[] = [];
const leases: PartitionLeases[] = [];

async function connect(name: string) {
  const nc = await connectBus({ servers: [await natsUrl()], name, logger });
  conns.push(nc);
  return nc;
}

/** who works on which partition right now, and every moment two did at once */
function workLog() {
  const owner = new Map<number, string>();
  const overlaps: string[] = [];
  const released: number[] = [];
  return {
    owner,
    overlaps,
    released,
    lease(nc: NatsConnection, s: ReturnType<typeof subjects>, holder: string, ttlMs = 1_500) {
      const l = createPartitionLeases({
        nc,
        subjects: s,
        service: 'notifier',
        holder,
        ttlMs,
        partitions: P,
        logger,
        async acquire(ps) {
          for (const p of ps) {
            const o = owner.get(p);
            if (o !== undefined && o !== holder) overlaps.push(`${p}: ${o} and ${holder}`);
            owner.set(p, holder);
          }
        },
        async release(ps) {
          released.push(...ps);
          for (const p of ps) if (owner.get(p) === holder) owner.delete(p);
        },
      });
      leases.push(l);
      return l;
    },
    count: (holder: string) => [...owner.values()].filter((h) => h === holder).length,
  };
}

beforeAll(async () => {
  await connect('leases-test');
});

afterAll(async () => {
  for (const l of leases) await l.stop().catch(() => undefined);
  for (const c of conns) await c.close().catch(() => undefined);
}, 30_000);

test('shares add up to the partitions for any number of members', () => {
  for (let n = 1; n <= 20; n++) {
    const shares = Array.from({ length: n }, (_, r) => shareOf(P, n, r));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(P);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
  }
});

test('three instances share 16 partitions 6/5/5 without overlap; a stopped one hands over at once, a dead one when its keys expire', async () => {
  const s = subjects(randomPrefix());
  const w = workLog();
  const [a, b, c] = ['a', 'b', 'c'];
  const la = w.lease(await connect('a'), s, a);
  await la.start();
  await waitFor(() => w.count(a) === P, { what: 'a alone holds every partition' });

  const lb = w.lease(await connect('b'), s, b);
  const cNc = await connect('c');
  const lc = w.lease(cNc, s, c);
  await Promise.all([lb.start(), lc.start()]);
  await waitFor(() => [a, b, c].map(w.count).sort().join() === '5,5,6', {
    timeoutMs: 15_000,
    what: 'the partitions shared 6/5/5',
  });
  expect(la.members()).toBe(3);

  // a graceful stop gives the keys back (deleted, not left to expire): once stop() returns no lease
  // key names b, and the others take its partitions
  const kv = await conns[0]!.jetstream().views.kv(s.leaseBucket('notifier'), { bindOnly: true });
  const holderOf = async (p: number) => {
    const e = await kv.get(`p.${p}`);
    return e?.operation === 'PUT' ? e.json<{ holder: string }>().holder : undefined;
  };
  const ofB = [...w.owner].filter(([, h]) => h === b).map(([p]) => p);
  expect(await Promise.all(ofB.map(holderOf))).toEqual(ofB.map(() => b));
  await lb.stop();
  expect((await Promise.all(ofB.map(holderOf))).filter((h) => h === b)).toEqual([]);
  await waitFor(() => w.count(a) + w.count(c) === P, {
    timeoutMs: 10_000,
    what: "b's partitions taken over",
  });
  expect([w.count(a), w.count(c)]).toEqual([8, 8]);

  // a crash: c's connection is gone without giving anything back; a takes over once the keys expire
  await cNc.close();
  for (const [p, h] of [...w.owner]) if (h === c) w.owner.delete(p); // c's work died with it
  await waitFor(() => w.count(a) === P, { timeoutMs: 10_000, what: "a to take c's partitions" });
  expect(la.held()).toEqual(Array.from({ length: P }, (_, i) => i));
  expect(w.overlaps).toEqual([]);
  await la.stop();
}, 60_000);

test('partitions given back while their acquisition still runs: the partitions kept are acquired in full', async () => {
  const s = subjects(randomPrefix());
  // a partition counts as worked on once the acquisition got through it without being aborted
  const working = new Map<string, Set<number>>();
  const slow = async (holder: string) => {
    const mine = new Set<number>();
    working.set(holder, mine);
    const l = createPartitionLeases({
      nc: await connect(holder),
      subjects: s,
      service: 'notifier',
      holder,
      ttlMs: 900,
      partitions: P,
      logger,
      async acquire(ps, signal) {
        for (const p of ps) {
          await sleep(150);
          if (signal.aborted) return;
          mine.add(p);
        }
      },
      async release(ps) {
        for (const p of ps) mine.delete(p);
      },
    });
    leases.push(l);
    return l;
  };
  const sorted = (set: Set<number> | undefined) => [...(set ?? [])].sort((x, y) => x - y);
  // a takes all 16 alone; its acquisition takes 2.4 s, and b joins meanwhile: a gives 8 back mid-way
  const la = await slow('a');
  const aStarted = la.start();
  await waitFor(() => la.held().length === P, { what: 'a alone holds every partition' });
  const lb = await slow('b');
  await lb.start();
  await aStarted;
  await waitFor(() => la.serving().length === P / 2 && lb.serving().length === P / 2, {
    timeoutMs: 15_000,
    what: 'the partitions served 8/8',
  });
  expect(sorted(working.get('a'))).toEqual(la.held());
  expect(sorted(working.get('b'))).toEqual(lb.held());
  await Promise.all([la.stop(), lb.stop()]);
}, 60_000);

test('a lease bucket deleted under its holder is re-created and its partitions held again', async () => {
  const s = subjects(randomPrefix());
  const w = workLog();
  const l = w.lease(conns[0] as NatsConnection, s, 'h1');
  await l.start();
  await waitFor(() => w.count('h1') === P, { what: 'every partition held' });
  const jsm = await (conns[0] as NatsConnection).jetstreamManager();
  await jsm.streams.delete(kvStreamName(s.leaseBucket('notifier')));
  // it loses them (renewals fail), re-creates the bucket and takes them again
  await waitFor(() => w.released.length === P, {
    timeoutMs: 10_000,
    what: 'partitions lost with the bucket',
  });
  await waitFor(() => w.count('h1') === P, { timeoutMs: 20_000, what: 'partitions held again' });
  const kv = await (conns[0] as NatsConnection).jetstream().views.kv(s.leaseBucket('notifier'));
  expect((await kv.get('p.0'))?.json<{ holder: string }>().holder).toBe('h1');
  await l.stop();
  await jsm.streams.delete(kvStreamName(s.leaseBucket('notifier'))).catch(() => undefined);
}, 60_000);

test('a lease bucket made without the lease TTL gets it: a dead holder still loses its partitions', async () => {
  const s = subjects(randomPrefix());
  const nc = conns[0] as NatsConnection;
  // e.g. an operator's `nats kv add` without --ttl, before any notifier started
  await nc.jetstream().views.kv(s.leaseBucket('notifier'), { history: 1 });
  const w = workLog();
  const deadNc = await connect('dead');
  const dead = w.lease(deadNc, s, 'dead');
  await dead.start();
  await waitFor(() => w.count('dead') === P, { what: 'every partition held by the first' });
  const live = w.lease(nc, s, 'live');
  await live.start();
  await waitFor(() => w.count('live') === P / 2, { timeoutMs: 10_000, what: 'the partitions shared' });
  await deadNc.close();
  for (const [p, h] of [...w.owner]) if (h === 'dead') w.owner.delete(p);
  await waitFor(() => w.count('live') === P, {
    timeoutMs: 10_000,
    what: "the dead holder's partitions taken",
  });
  await live.stop();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(kvStreamName(s.leaseBucket('notifier'))).catch(() => undefined);
}, 60_000);
