/**
 * Lossless delivery and resume (PROTOCOL.md §8) on real servers: a private nats-server (file
 * store), MariaDB, dialogs, the notifier, two gateways and real sockets. A client that was away
 * reconnects to the other gateway with `since` and gets every push it missed exactly once, in
 * `seq` order, then live ones; through gateway restarts, a nats-server restart, a second
 * disconnect during the replay and a notifier SIGKILL; counters end equal to the truth.
 */
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { notifyPartition } from '@parley/protocol';
import { type Frame, sleep, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../services/dialogs/test/harness.js';
import type { StartedGateway } from '../services/gateway/test/helpers.js';
import {
  buildNotifier,
  instanceOf,
  type NotifierProcess,
  partitionHolders,
  partitionsShared,
  pushOf,
  type System,
  startSystem,
} from './system.js';

/** the tests send hundreds of frames a second from one socket */
const FAST = { RATE_LIMIT_PER_SEC: '5000', RATE_LIMIT_BURST: '5000' };

/** after the consumer is drained, how long a duplicate push would still need to reach a socket */
const SETTLE_MS = 500;

let sys: System | undefined;

afterEach(async () => {
  await sys?.stop();
  sys = undefined;
}, 120_000);

const isCreate = (f: Frame) => f.event === 'dialogs.messages.create' && f.request_id === undefined;
const isCounter = (f: Frame) =>
  f.event === 'notifications.dialogs.count' || f.event === 'notifications.dialogs.messages.count';
const syncAnswer = (f: Frame) => f.event === 'sync' && !f.exception;

/** every frame with a seq, in arrival order */
const seqFrames = (sock: TestSocket) => sock.frames.filter((f) => typeof f.seq === 'number');
const lastSeq = (sock: TestSocket) => Math.max(0, ...seqFrames(sock).map((f) => f.seq as number));

function expectStrictlyIncreasing(frames: Frame[]) {
  const seqs = frames.map((f) => f.seq as number);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
}

/** users 1 and 2 in one dialog */
async function pair(system: System) {
  const { rpc } = system.dialogs;
  await createUser(rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2);
  return (await createDialog(rpc, [1, 2])).id;
}

async function send(socket: TestSocket, dialogId: number, body: string): Promise<number> {
  const answer = await socket.request(
    { event: 'dialogs.messages.create', dialog_id: dialogId, body },
    15_000,
  );
  expect(answer.error).toBeUndefined();
  expect(answer.seq).toBeUndefined(); // a direct answer carries no seq
  return answer.data.id as number;
}

async function sendMany(socket: TestSocket, dialogId: number, n: number, tag: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 1; i <= n; i++) ids.push(await send(socket, dialogId, `${tag} ${i}`));
  return ids;
}

/** the last counter frames a socket holds equal what the dialogs service answers now */
async function expectCountersTrue(sock: TestSocket, dialogId: number) {
  const total = await sock.request({ event: 'notifications.dialogs.count' }, 10_000);
  const inDialog = await sock.request(
    { event: 'notifications.dialogs.messages.count', dialog_id: dialogId },
    10_000,
  );
  const pushes = sock.frames.filter((f) => isCounter(f) && f.request_id === undefined);
  const lastTotal = pushes.filter((f) => f.event === 'notifications.dialogs.count').at(-1);
  const lastInDialog = pushes
    .filter((f) => f.event === 'notifications.dialogs.messages.count' && f.data?.dialog_id === dialogId)
    .at(-1);
  expect(lastTotal?.data).toBe(total.data);
  expect(lastInDialog?.data).toEqual(inDialog.data);
}

/**
 * Reconnect `userId` with `since` and wait for the sync answer; check the replay: the frames before
 * the answer have increasing seqs after `since`, the message frames are exactly `ids` in order.
 */
async function resume(system: System, gw: StartedGateway, since: number, ids: number[]) {
  const sock = await system.socket(2, { gateway: gw, since });
  const answer = await sock.next(syncAnswer, { timeoutMs: 30_000 });
  const before = sock.frames.slice(0, sock.frames.indexOf(answer));
  expect(before.every((f) => typeof f.seq === 'number' && f.seq > since)).toBe(true);
  expectStrictlyIncreasing(before);
  expect(before.filter(isCreate).map((f) => f.data.id)).toEqual(ids);
  // the answer names the latest seq; the last entries may be counter frames older than ones replayed
  expect(answer.data.replayed).toBe(before.length);
  expect(answer.data.seq).toBeGreaterThanOrEqual(before.at(-1)?.seq ?? since);
  expect(answer.request_id).toBeUndefined();
  return { sock, answer };
}

describe('resume with since', () => {
  test('100 messages while away: the other gateway replays them in order exactly once, then live pushes follow', async () => {
    sys = await startSystem({ gatewayEnv: FAST });
    await sys.startNotifier();
    const other = await sys.startGateway();
    const dialogId = await pair(sys);
    const a = await sys.socket(1);
    const b = await sys.socket(2);

    const first = await send(a, dialogId, 'before');
    const pushed = await b.next(pushOf(first), { timeoutMs: 10_000 });
    expect(pushed.seq).toBeGreaterThan(0);
    await b.next(isCounter, { timeoutMs: 10_000 });
    await b.close();
    const since = lastSeq(b);

    const ids = await sendMany(a, dialogId, 100, 'away');
    await sys.drained('notifier', 30_000);
    const { sock, answer } = await resume(sys, other, since, ids);
    expect(answer.data.replayed).toBeGreaterThanOrEqual(100);

    const live = await send(a, dialogId, 'live');
    const livePush = await sock.next(pushOf(live), { timeoutMs: 10_000 });
    expect(livePush.seq).toBeGreaterThan(answer.data.seq);
    await sys.drained('notifier');
    await sleep(SETTLE_MS);
    expect(sock.where(isCreate).map((f) => f.data.id)).toEqual([...ids, live]);
    expectStrictlyIncreasing(seqFrames(sock));
    // the sender's own socket got none of its messages as pushes (it has the direct answers)
    expect(a.where(isCreate)).toHaveLength(0);
    await expectCountersTrue(sock, dialogId);
  }, 120_000);

  test('every gateway restarted while the client was away: the replay is the same', async () => {
    sys = await startSystem({ gatewayEnv: FAST });
    await sys.startNotifier();
    const dialogId = await pair(sys);
    const gw1 = await sys.startGateway();
    const a = await sys.socket(1, { gateway: gw1 });
    const b = await sys.socket(2, { gateway: gw1 });
    const first = await send(a, dialogId, 'before');
    await b.next(pushOf(first), { timeoutMs: 10_000 });
    await b.close();
    const since = lastSeq(b);
    const ids = await sendMany(a, dialogId, 30, 'away');
    await sys.drained('notifier', 30_000);

    await a.close();
    await gw1.stop();
    await sys.gateway.stop();
    const fresh = await sys.startGateway();
    await resume(sys, fresh, since, ids);
  }, 120_000);

  test('a second disconnect in the middle of a replay: resuming from the last seq received completes it exactly once', async () => {
    sys = await startSystem({ gatewayEnv: FAST });
    await sys.startNotifier();
    const other = await sys.startGateway();
    const dialogId = await pair(sys);
    const a = await sys.socket(1);
    const b = await sys.socket(2);
    const first = await send(a, dialogId, 'before');
    await b.next(pushOf(first), { timeoutMs: 10_000 });
    await b.close();
    const since = lastSeq(b);
    const ids = await sendMany(a, dialogId, 100, 'away');
    await sys.drained('notifier', 30_000);

    const cut = await sys.socket(2, { gateway: other });
    let creates = 0;
    cut.ws.on('message', (data) => {
      if (isCreate(JSON.parse(String(data))) && ++creates === 10) cut.ws.terminate();
    });
    cut.send({ event: 'sync', since });
    await cut.closed;
    const partial = cut.frames.filter((f) => typeof f.seq === 'number');
    expectStrictlyIncreasing(partial);
    const got = partial.filter(isCreate).map((f) => f.data.id as number);
    expect(got).toEqual(ids.slice(0, got.length));

    const rest = ids.slice(got.length);
    const { sock } = await resume(sys, sys.gateway, lastSeq(cut), rest);
    expect([...got, ...sock.where(isCreate).map((f) => f.data.id)]).toEqual(ids);
  }, 120_000);

  test('nats-server (file store) restarted while the client was away: nothing missed, nothing doubled', async () => {
    sys = await startSystem({ gatewayEnv: { ...FAST, REQUEST_TIMEOUT_MS: '2000' } });
    await sys.startNotifier({ LEADER_LEASE_SECONDS: '2' });
    const other = await sys.startGateway();
    const dialogId = await pair(sys);
    const a = await sys.socket(1);
    const b = await sys.socket(2);
    // a socket that stays open through the outage: its gateway reconnects and catches up from the feed
    const stays = await sys.socket(2, { gateway: other });
    const first = await send(a, dialogId, 'before');
    await b.next(pushOf(first), { timeoutMs: 10_000 });
    await b.close();
    const since = lastSeq(b);
    const before = await sendMany(a, dialogId, 20, 'before the restart');
    await sys.drained('notifier', 30_000);

    await sys.nats.kill();
    await sys.nats.restart();
    // the first creates after the restart may time out while the services reconnect: retry with one key
    const after: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const answer = await waitFor(
        async () => {
          const r = await a.request(
            {
              event: 'dialogs.messages.create',
              dialog_id: dialogId,
              body: `after ${i}`,
              client_id: `after-${i}`,
            },
            10_000,
          );
          return r.exception ? undefined : r;
        },
        { timeoutMs: 40_000, intervalMs: 250, what: 'an answer after the restart' },
      );
      after.push(answer.data.id as number);
    }
    await sys.drained('notifier', 40_000);
    const { sock } = await resume(sys, other, since, [...before, ...after]);
    await waitFor(() => stays.where(pushOf(after.at(-1) as number)).length === 1, {
      timeoutMs: 20_000,
      what: 'the last message on the socket that stayed open',
    });
    await sleep(SETTLE_MS);
    expect(sock.where(isCreate).map((f) => f.data.id)).toEqual([...before, ...after]);
    expect(stays.where(isCreate).map((f) => f.data.id)).toEqual([first, ...before, ...after]);
    expectStrictlyIncreasing(seqFrames(stays));
  }, 180_000);
});

describe('sync', () => {
  test('sync without since answers the latest seq; a bad since is a validation_error; an unknown since asks for a resync', async () => {
    sys = await startSystem({ gatewayEnv: FAST });
    await sys.startNotifier();
    const dialogId = await pair(sys);
    const a = await sys.socket(1);
    const b = await sys.socket(2);
    const id = await send(a, dialogId, 'one');
    await b.next(pushOf(id), { timeoutMs: 10_000 });
    await sys.drained('notifier');
    await sleep(SETTLE_MS);
    const latest = lastSeq(b);

    const plain = await b.request({ event: 'sync' });
    expect(plain).toMatchObject({ type: 'ws_send', event: 'sync', data: { seq: latest, replayed: 0 } });
    expect(plain.data.resync_required).toBeUndefined();

    for (const bad of [-1, 'x', 1.5, true]) {
      const r = await b.request({ event: 'sync', since: bad });
      expect(r).toMatchObject({ exception: true, error: { code: 'validation_error', field: 'since' } });
    }
    const unknown = await b.request({ event: 'sync', since: latest + 1000 });
    expect(unknown.data).toEqual({ seq: latest, replayed: 0, resync_required: true });

    // everything after `since` this socket already has: nothing is replayed twice
    const again = await b.request({ event: 'sync', since: 0 });
    expect(again.data).toEqual({ seq: latest, replayed: 0 });
    expect(b.where(pushOf(id))).toHaveLength(1);

    // a fresh socket asking with `since: 0` gets the whole feed, its own message included
    const fresh = await sys.socket(1);
    const all = await fresh.request({ event: 'sync', since: '0' });
    expect(all.data.replayed).toBeGreaterThanOrEqual(1);
    expect(fresh.where(pushOf(id))).toHaveLength(1);

    const badUrl = await sys.socket(2, { since: 'abc' as unknown as number });
    const err = await badUrl.next((f) => f.event === 'sync', { timeoutMs: 10_000 });
    expect(err).toMatchObject({ exception: true, error: { code: 'validation_error', field: 'since' } });
  }, 60_000);

  test('since older than the retention asks for a resync', async () => {
    // a 2-second feed retention
    const retention = String(2 / 3600);
    sys = await startSystem({ gatewayEnv: FAST, serviceEnv: { FEED_RETENTION_HOURS: retention } });
    await sys.startNotifier({ FEED_RETENTION_HOURS: retention });
    const dialogId = await pair(sys);
    const a = await sys.socket(1);
    const b = await sys.socket(2);
    const old = await send(a, dialogId, 'soon forgotten');
    await b.next(pushOf(old), { timeoutMs: 10_000 });
    await sys.drained('notifier');
    await sleep(SETTLE_MS);
    const since = lastSeq(b);
    await b.close();
    const jsm = await sys.nc.jetstreamManager();
    await waitFor(async () => (await jsm.streams.info(sys?.subjects.feedStream ?? '')).state.messages === 0, {
      timeoutMs: 20_000,
      what: 'the feed to expire',
    });
    const id = await send(a, dialogId, 'after the retention');
    await sys.drained('notifier');
    const c = await sys.socket(2, { since: since - 1 });
    const answer = await c.next(syncAnswer, { timeoutMs: 10_000 });
    expect(answer.data).toMatchObject({ replayed: 0, resync_required: true });
    expect(answer.data.seq).toBeGreaterThan(since);
    expect(c.where(pushOf(id))).toHaveLength(0);
  }, 60_000);
});

describe('notifier crash', () => {
  beforeAll(buildNotifier, 120_000);

  test('a notifier SIGKILLed during a stream of messages: no socket gets a frame twice; counters end true', async () => {
    const system = await startSystem({ gatewayEnv: FAST });
    sys = system;
    const env = { LEADER_LEASE_SECONDS: '1' };
    const procs = [system.spawnNotifier(env), system.spawnNotifier(env)];
    await partitionsShared(system, procs);
    // the notifier that dies is the one pushing to user 2
    const owner = (await partitionHolders(system))[notifyPartition(2)];
    const doomed = procs.find((p) => instanceOf(p) === owner) as NotifierProcess;
    const other = await system.startGateway();
    const dialogId = await pair(system);
    const a = await system.socket(1);
    const b1 = await system.socket(2);
    const b2 = await system.socket(2, { gateway: other });
    const a2 = await system.socket(1, { gateway: other });

    const ids: number[] = [];
    for (let i = 1; i <= 60; i++) {
      ids.push(await send(a, dialogId, `stream ${i}`));
      if (i === 20) process.kill(doomed.child.pid as number, 'SIGKILL');
      // the reader catches up now and then: counters move down as well as up during the stream
      if (i % 10 === 0) {
        const seen = await b2.request({
          event: 'dialogs.messages.seen',
          dialog_id: dialogId,
          message_id: ids[i - 3],
          up_to: true,
        });
        expect(seen.exception).toBeUndefined();
      }
    }
    // b reads everything, so its counters move down too
    const read = await b1.request({
      event: 'dialogs.messages.seen',
      dialog_id: dialogId,
      message_id: ids.at(-1),
      up_to: true,
    });
    expect(read.exception).toBeUndefined();
    await waitFor(() => b2.where(pushOf(ids.at(-1) as number)).length === 1, {
      timeoutMs: 40_000,
      what: 'the last message on the other gateway',
    });
    await system.drained('notifier', 40_000);
    await sleep(SETTLE_MS);

    for (const sock of [b1, b2]) {
      expect(sock.where(isCreate).map((f) => f.data.id)).toEqual(ids);
    }
    for (const sock of [a, b1, b2, a2]) {
      const seqs = seqFrames(sock).map((f) => f.seq as number);
      expect(new Set(seqs).size).toBe(seqs.length);
      expectStrictlyIncreasing(seqFrames(sock));
    }
    // after the last seen every member's sockets got counter frames (§4.4), the author's too
    for (const sock of [a, b1, b2, a2]) await expectCountersTrue(sock, dialogId);
  }, 180_000);
});
