/**
 * A notifier that dies holding events (delivered, never acknowledged): the instance that takes over
 * must push them before the events that came after, or a member sees a message after newer ones.
 * JetStream alone would redeliver the held events only after the ack wait, behind the newer ones.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  consumeEvents,
  type FeedDelivery,
  type NatsConnection,
  publishEvent,
  type Subscription,
  subscribeFeed,
} from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { notifyPartition, subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, waitFor } from '@parley/testing';
import { createNotifierService, type NotifierService } from '../src/app.js';
import { notifierConfigSpec } from '../src/config.js';
import { created, member, message } from './events.js';

const logger = silentLogger();
const prefix = randomPrefix();
const s = subjects(prefix);
const partition = notifyPartition(11);
const conns: NatsConnection[] = [];
const got: FeedDelivery[] = [];
let nc: NatsConnection;
let sub: Subscription;
let app: NotifierService | undefined;

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'takeover-test', logger });
  conns.push(nc);
  sub = subscribeFeed(nc, s, '*', (user, d) => {
    if (user === 11) got.push(d);
  });
  await nc.flush();
});

afterAll(async () => {
  await app?.stop().catch(() => undefined);
  sub.unsubscribe();
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, s.notifyStream, s.feedStream, `KV_${s.leaseBucket('notifier')}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  for (const c of conns) await c.close().catch(() => undefined);
}, 60_000);

test('events a dead instance held are pushed first, in stream order, once each', async () => {
  // the instance that dies: it takes events from the shared durable and never finishes one
  const doomedNc = await connectBus({ servers: [await natsUrl()], name: 'takeover-doomed', logger });
  conns.push(doomedNc);
  const taken: number[] = [];
  await consumeEvents({
    nc: doomedNc,
    subjects: s,
    service: 'notifier',
    logger,
    types: ['message.created', 'message.seen'],
    // the partition of member 11, as its notifier consumes it
    stream: s.notifyStream,
    durable: s.notifyDurable(partition),
    filterSubject: s.notify(partition),
    handle: (e) => {
      if (e.type === 'message.created') taken.push(e.message.id);
      return new Promise<void>(() => undefined);
    },
    ackWaitMs: 10_000,
    concurrency: 256,
    keyOf: (e) => e.id,
  });
  const event = (id: number) => created(message(id, 1, 10), [member(10, 0, 0, false), member(11, 1, 1)]);
  for (let id = 1; id <= 3; id++) await publishEvent(nc, s, event(id));
  await waitFor(() => taken.length === 3, { what: 'the doomed instance to hold three events' });
  await doomedNc.close(); // gone without acknowledging anything

  // newer events arrive before anyone takes over
  for (let id = 4; id <= 6; id++) await publishEvent(nc, s, event(id));
  const { config } = parseConfig(notifierConfigSpec, {
    NATS_URL: await natsUrl(),
    SUBJECT_PREFIX: prefix,
    PUSH_COALESCE_MS: '200',
    LEADER_LEASE_SECONDS: '1',
  });
  const c = await connectBus({ servers: [await natsUrl()], name: 'takeover-next', logger });
  conns.push(c);
  app = createNotifierService({ config, nc: c, logger });
  await app.start();
  expect(app.active).toBe(true);

  const creates = () => got.filter((d) => d.entry.item.event === 'dialogs.messages.create');
  const ids = () => creates().map((d) => (d.entry.item.data as { id: number }).id);
  await waitFor(() => ids().length >= 6, { timeoutMs: 30_000, what: 'six message frames for member 11' });
  expect(ids()).toEqual([1, 2, 3, 4, 5, 6]);
  const seqs = creates().map((d) => d.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  // the held events' redelivery after the ack wait appends no message frame twice
  await waitFor(
    async () =>
      (await c.jetstreamManager().then((j) => j.consumers.info(s.notifyStream, s.notifyDurable(partition))))
        .num_ack_pending === 0,
    {
      timeoutMs: 30_000,
      what: 'every event acknowledged (the held ones redelivered and handled)',
    },
  );
  expect(ids()).toEqual([1, 2, 3, 4, 5, 6]);
}, 90_000);
