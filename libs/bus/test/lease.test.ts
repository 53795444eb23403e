/**
 * The single-holder lease on the real NATS: when its KV bucket disappears under the holder (deleted,
 * or its only replica lost with a node), the holder steps down and the lease is taken again in a
 * re-created bucket, instead of no instance ever holding it again.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  createLease,
  kvStreamName,
  type Lease,
  type NatsConnection,
  openJsonKv,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, waitFor } from '@parley/testing';

const logger = silentLogger();
let nc: NatsConnection;
const leases: Lease[] = [];

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'lease-test', logger });
});

afterAll(async () => {
  for (const l of leases) await l.stop().catch(() => undefined);
  await nc.close();
});

test('a lease whose bucket was deleted steps down, re-creates the bucket and is held again', async () => {
  const s = subjects(randomPrefix());
  const lease = createLease({ nc, subjects: s, service: 'notifier', holder: 'h1', ttlMs: 1_500, logger });
  leases.push(lease);
  const changes: boolean[] = [];
  lease.onChange((held) => changes.push(held));
  await lease.start();
  expect(lease.held).toBe(true);

  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(kvStreamName(s.leaseBucket('notifier')));
  await waitFor(() => changes.length >= 3, { timeoutMs: 20_000, what: 'stepped down and held again' });
  expect(changes).toEqual([true, false, true]);
  const kv = await openJsonKv<{ holder: string }>(nc, s.leaseBucket('notifier'));
  expect((await kv.get('leader'))?.value.holder).toBe('h1');
  await lease.stop();
  await jsm.streams.delete(kvStreamName(s.leaseBucket('notifier'))).catch(() => undefined);
});
