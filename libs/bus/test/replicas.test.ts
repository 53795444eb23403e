/**
 * NATS_REPLICAS on a private three-node cluster: a running system whose streams, buckets and object
 * store were created with one replica is upgraded in place to three by starting with replicas 3;
 * nothing stored is lost, the durable consumer keeps its place, and afterwards a node can be killed
 * without the event stream, its consumer or a bucket becoming unavailable. A lower setting never
 * lowers them again (a rolling upgrade's old instances).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  consumeEvents,
  type EventConsumer,
  ensureEventStream,
  ensureFeedStream,
  kvStreamName,
  type NatsConnection,
  objectStreamName,
  openFileStore,
  openJsonKv,
  openPresenceBucket,
  publishEvent,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type MessageSeenEvent, subjects } from '@parley/protocol';
import {
  message,
  type NatsCluster,
  randomPrefix,
  seenEvent,
  startNatsCluster,
  waitFor,
} from '@parley/testing';

const logger = silentLogger();
let cluster: NatsCluster;
let nc: NatsConnection;
const consumers: EventConsumer[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc = await connectBus({ servers: cluster.urls, name: 'replicas-test', logger });
}, 60_000);

afterAll(async () => {
  for (const c of consumers) await c.stop().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  await cluster?.stop();
});

const event = (n: number): MessageSeenEvent => ({ ...seenEvent(message(n, n, 1), 2), dialog_id: n });

test('streams, buckets and the object store upgrade from 1 to 3 replicas in place and survive a node loss', async () => {
  const s = subjects(randomPrefix());
  const feedOpts = { retentionMs: 3_600_000, duplicateWindowMs: 60_000 };
  const mailBucket = s.mailBucket;

  // the system as it runs today: one replica of everything, some data, a durable consumer with progress
  await ensureEventStream(nc, s);
  await ensureFeedStream(nc, s, feedOpts, { update: true });
  const mail1 = await openJsonKv<{ n: number }>(nc, mailBucket, { ttlMs: 3_600_000 });
  await mail1.put('a', { n: 1 });
  await openPresenceBucket(nc, s);
  const files1 = await openFileStore(nc, s);
  await files1.put(
    'f1',
    (async function* () {
      yield new TextEncoder().encode('hello');
    })(),
  );
  const seen: number[] = [];
  const first = await consumeEvents({
    nc,
    subjects: s,
    service: 'mailer',
    logger,
    types: ['message.seen'],
    handle: async (e) => {
      seen.push((e as MessageSeenEvent).dialog_id);
    },
  });
  for (let i = 1; i <= 5; i++) await publishEvent(nc, s, event(i));
  await waitFor(() => seen.length === 5, { timeoutMs: 20_000, what: 'the first five events' });
  await first.stop();

  const jsm = await nc.jetstreamManager();
  const streams = [
    s.eventStream,
    s.notifyStream,
    s.mailStream,
    s.feedStream,
    kvStreamName(mailBucket),
    kvStreamName(s.presenceBucket),
    objectStreamName(s.filesBucket),
  ];
  for (const name of streams) expect((await jsm.streams.info(name)).config.num_replicas).toBe(1);

  // the upgrade: the same services started with NATS_REPLICAS=3
  await ensureEventStream(nc, s, { replicas: 3 });
  await ensureFeedStream(nc, s, { ...feedOpts, replicas: 3 }, { update: true });
  const mail3 = await openJsonKv<{ n: number }>(nc, mailBucket, { ttlMs: 3_600_000, replicas: 3 });
  await openPresenceBucket(nc, s, { replicas: 3 });
  const files3 = await openFileStore(nc, s, { replicas: 3 });
  for (const name of streams) {
    expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
    // every peer has caught up: a leader and two current replicas
    await waitFor(
      async () => {
        const info = await jsm.streams.info(name);
        return (
          info.cluster?.leader &&
          info.cluster.replicas?.length === 2 &&
          info.cluster.replicas.every((r) => r.current)
        );
      },
      { timeoutMs: 30_000, what: `${name} on three current peers` },
    );
  }
  // the durable consumer is raised by the first consumer started with replicas 3 (it keeps running)
  const after: number[] = [];
  consumers.push(
    await consumeEvents({
      nc,
      subjects: s,
      service: 'mailer',
      logger,
      types: ['message.seen'],
      replicas: 3,
      handle: async (e) => {
        after.push((e as MessageSeenEvent).dialog_id);
      },
    }),
  );
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(s.eventStream, s.durable('mailer'));
      return (
        info.cluster?.leader &&
        info.cluster.replicas?.length === 2 &&
        info.cluster.replicas.every((r) => r.current)
      );
    },
    { timeoutMs: 30_000, what: 'the durable consumer on three current peers' },
  );
  // a restarted instance still configured with 1 does not lower them
  await ensureEventStream(nc, s, { replicas: 1 });
  await openJsonKv(nc, mailBucket, { replicas: 1 });
  expect((await jsm.streams.info(s.eventStream)).config.num_replicas).toBe(3);
  expect((await jsm.streams.info(kvStreamName(mailBucket))).config.num_replicas).toBe(3);

  // the data is all there
  expect((await mail3.get('a'))?.value).toEqual({ n: 1 });
  expect(await files3.list()).toEqual(['f1']);
  expect((await jsm.streams.info(s.eventStream)).state.messages).toBe(5);

  // lose the event stream's leader: publishing, consuming (from where the durable was) and KV writes go on
  expect(after).toEqual([]);
  const leaderName = (await jsm.streams.info(s.eventStream)).cluster?.leader;
  const leader = cluster.nodes.find((n) => n.name === leaderName);
  expect(leader).toBeDefined();
  await leader!.kill();
  for (let i = 6; i <= 8; i++) {
    await waitFor(
      async () => {
        await publishEvent(nc, s, event(i), { timeoutMs: 2_000 });
        return true;
      },
      // a new stream leader is elected first: seconds on a quiet machine, longer on a loaded one
      // (nats-server 2.9's raft timers), so the bound is generous
      { timeoutMs: 90_000, intervalMs: 200, what: `event ${i} stored with a node down` },
    );
  }
  await waitFor(async () => (await mail3.put('b', { n: 2 })) > 0, {
    timeoutMs: 90_000,
    intervalMs: 200,
    what: 'a KV write with a node down',
  });
  // redeliveries while the consumer's leader moves are allowed (at least once): wait for the three ids
  await waitFor(() => new Set(after).size >= 3, {
    timeoutMs: 90_000,
    what: 'events 6–8 consumed with a node down',
  });
  expect([...new Set(after)].sort()).toEqual([6, 7, 8]);
  await leader!.restart();
}, 360_000);
