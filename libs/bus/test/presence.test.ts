/** Presence on the real NATS KV: transitions across writers, one claim per transition, expiry of a dead writer. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  createPresenceView,
  createPresenceWriter,
  type NatsConnection,
  type PresenceChange,
  type PresenceView,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, sleep, waitFor } from '@parley/testing';

const logger = silentLogger();
const s = subjects(randomPrefix());
const ttlMs = 1_500;
let nc: NatsConnection;
const views: PresenceView[] = [];
const changes: PresenceChange[][] = [[], []];

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'presence-test', logger });
  for (let i = 0; i < 2; i++) {
    const view = createPresenceView(nc, s, { logger, ttlMs, relistMs: 150 });
    view.onChange((c) => changes[i]!.push(c));
    await view.start();
    views.push(view);
  }
});

afterAll(async () => {
  for (const v of views) await v.stop();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`KV_${s.presenceBucket}`).catch(() => undefined);
  await nc.drain();
});

const forUser = (i: number, userId: number) => changes[i]!.filter((c) => c.user_id === userId);

test('first key anywhere → online, last key anywhere → offline; every view sees it; one claim wins', async () => {
  const a = createPresenceWriter(nc, s, { gatewayId: 'gwA', logger, ttlMs });
  const b = createPresenceWriter(nc, s, { gatewayId: 'gwB', logger, ttlMs });
  await a.start();
  await b.start();

  await a.set(7, true);
  await waitFor(() => views.every((v) => v.isOnline(7)));
  await b.set(7, true);
  await a.set(7, false);
  await sleep(300);
  expect(views.every((v) => v.isOnline(7))).toBe(true);
  await b.set(7, false);
  await waitFor(() => views.every((v) => !v.isOnline(7)));

  for (const i of [0, 1]) expect(forUser(i, 7).map((c) => c.online)).toEqual([true, false]);
  expect(forUser(0, 7)).toEqual(forUser(1, 7));

  for (const change of forUser(0, 7)) {
    const wins = await Promise.all(views.map((v) => v.claim(change)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  }
  await a.stop();
  await b.stop();
});

test('a writer that dies without cleaning up: its user goes offline once the TTL passes', async () => {
  const deadNc = await connectBus({ servers: [await natsUrl()], name: 'presence-dead', logger });
  const dead = createPresenceWriter(deadNc, s, { gatewayId: 'gwDead', logger, ttlMs, refreshMs: 200 });
  await dead.start();
  await dead.set(8, true);
  await waitFor(() => views.every((v) => v.isOnline(8)));
  await deadNc.close(); // the process is gone: no delete, no refresh
  await sleep(ttlMs / 2);
  expect(views.every((v) => v.isOnline(8))).toBe(true);
  await waitFor(() => views.every((v) => !v.isOnline(8)), { timeoutMs: ttlMs * 4 });
  for (const i of [0, 1]) expect(forUser(i, 8).map((c) => c.online)).toEqual([true, false]);
  expect(forUser(0, 8)).toEqual(forUser(1, 8));
  const off = forUser(0, 8)[1]!;
  const wins = await Promise.all(views.map((v) => v.claim(off)));
  expect(wins.filter(Boolean)).toHaveLength(1);
  await dead.stop();
});

test('a live writer keeps its user online past the TTL by refreshing', async () => {
  const w = createPresenceWriter(nc, s, { gatewayId: 'gwLive', logger, ttlMs, refreshMs: 300 });
  await w.start();
  await w.set(9, true);
  await waitFor(() => views[0]!.isOnline(9));
  await sleep(ttlMs * 2);
  expect(views.every((v) => v.isOnline(9))).toBe(true);
  expect(forUser(0, 9).map((c) => c.online)).toEqual([true]);
  await w.stop();
  await waitFor(() => views.every((v) => !v.isOnline(9)));
});

test('three writers hold a user: online until the last one leaves, in any order; refreshes never bring a deleted key back', async () => {
  const writers = ['gwX', 'gwY', 'gwZ'].map((gatewayId) =>
    createPresenceWriter(nc, s, { gatewayId, logger, ttlMs, refreshMs: 50 }),
  );
  try {
    for (const w of writers) await w.start();
    for (const w of writers) await w.set(11, true);
    await waitFor(() => views.every((v) => v.isOnline(11)));
    // the gateway a view saw first leaves, then the last one: the middle one still holds the user
    await writers[0]!.set(11, false);
    await writers[2]!.set(11, false);
    await sleep(300); // refreshes of the remaining key, and relists, meanwhile
    expect(views.every((v) => v.isOnline(11))).toBe(true);
    await writers[1]!.set(11, false);
    await waitFor(() => views.every((v) => !v.isOnline(11)));
    await sleep(300); // refreshes keep running: the deleted keys stay deleted
    expect(views.every((v) => !v.isOnline(11))).toBe(true);
    for (const i of [0, 1]) expect(forUser(i, 11).map((c) => c.online)).toEqual([true, false]);
  } finally {
    for (const w of writers) await w.stop();
  }
});
