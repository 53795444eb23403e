/**
 * The hub and several gateway instances on one NATS, with the real dialogs and notifier: a message
 * reaches every other socket exactly once, the requester gets exactly one answer, pushes cross
 * gateways, and the skip_origin rule of PushMessage.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection, publishPush } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { type DialogDto, subjects } from '@parley/protocol';
import { connectWs, type Frame, natsUrl, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { createNotifierService, type NotifierService } from '../../notifier/src/app.js';
import { notifierConfigSpec } from '../../notifier/src/config.js';
import {
  type Backend,
  captureLogger,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let notifierNc: NatsConnection;
let notifier: NotifierService;
let gwA: StartedGateway;
let gwB: StartedGateway;
const logsA = captureLogger();
let dialog: DialogDto;
const sockets: TestSocket[] = [];

const open = async (gw: StartedGateway, userId: number) => {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
};
const isCreate = (f: Frame) => f.event === 'dialogs.messages.create';

beforeAll(async () => {
  backend = await startBackend();
  const { config } = parseConfig(notifierConfigSpec, {
    NATS_URL: await natsUrl(),
    SUBJECT_PREFIX: backend.prefix,
    PUSH_COALESCE_MS: '0',
    LEADER_LEASE_SECONDS: '1',
  });
  notifierNc = await connectBus({
    servers: config.NATS_URL,
    name: 'gateway-test-notifier',
    logger: silentLogger(),
  });
  notifier = createNotifierService({ config, nc: notifierNc, logger: silentLogger() });
  await notifier.start();
  gwA = await startGateway(backend.prefix, { LOG_LEVEL: 'debug' }, logsA.logger);
  gwB = await startGateway(backend.prefix);
  await createUser(backend.dialogs.rpc, 301);
  await createUser(backend.dialogs.rpc, 302);
  dialog = await createDialog(backend.dialogs.rpc, [301, 302]);
});

afterAll(async () => {
  for (const s of sockets) await s.close();
  await gwA?.stop();
  await gwB?.stop();
  await notifier?.stop();
  const jsm = await notifierNc.jetstreamManager();
  await jsm.streams.delete(`KV_${subjects(backend.prefix).leaseBucket('notifier')}`).catch(() => undefined);
  await notifierNc?.drain();
  await backend?.stop();
});

describe('one gateway: two tabs of one user and another user', () => {
  test('the message reaches the second tab and the other user once each; the requester gets one answer', async () => {
    const tab1 = await open(gwA, 301);
    const tab2 = await open(gwA, 301);
    const bob = await open(gwA, 302);
    const answer = await tab1.request({
      event: 'dialogs.messages.create',
      dialog_id: dialog.id,
      body: 'one',
    });
    const id = answer.data.id;
    // bob's counters come after the message frame on the same socket: once they are here, all is
    await bob.next(
      (f) => f.event === 'notifications.dialogs.messages.count' && f.data.dialog_id === dialog.id,
    );
    await tab2.next((f) => isCreate(f) && f.data.id === id);
    // pushes carry the seq of the user's feed (PROTOCOL.md §8); the direct answer carries none
    expect(bob.where(isCreate)).toEqual([
      { type: 'ws_send', event: 'dialogs.messages.create', data: answer.data, seq: expect.any(Number) },
    ]);
    expect(tab2.where(isCreate)).toEqual([
      { type: 'ws_send', event: 'dialogs.messages.create', data: answer.data, seq: expect.any(Number) },
    ]);
    expect(answer.seq).toBeUndefined();
    expect(tab1.where(isCreate)).toEqual([answer]);
    expect(bob.where((f) => f.event === 'notifications.dialogs.count').at(-1)?.data).toBe(1);
  });
});

describe('two gateway instances on one NATS', () => {
  test('a user on gateway B receives the pushes caused on gateway A, tabs split across both', async () => {
    const aliceOnA = await open(gwA, 301);
    const aliceOnB = await open(gwB, 301);
    const bobOnB = await open(gwB, 302);
    const answer = await aliceOnA.request({
      event: 'dialogs.messages.create',
      dialog_id: dialog.id,
      body: 'two',
    });
    const pushed = (s: TestSocket) =>
      s.next((f) => isCreate(f) && f.data.id === answer.data.id && !f.request_id);
    expect((await pushed(bobOnB)).data).toEqual(answer.data);
    expect((await pushed(aliceOnB)).data).toEqual(answer.data);
    const seen = await bobOnB.request({
      event: 'dialogs.messages.seen',
      dialog_id: dialog.id,
      message_id: answer.data.id,
    });
    const seenPush = await aliceOnA.next((f) => f.event === 'dialogs.messages.seen' && !f.request_id);
    expect(seenPush.data).toEqual(seen.data);
  });
});

describe('the skip_origin rule', () => {
  test('every socket of the user gets the items in order; the origin socket skips the marked ones', async () => {
    const from = logsA.lines.length;
    const origin = await open(gwA, 303);
    const connected = logsA.lines
      .slice(from)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'connected' && l.user_id === 303);
    const other = await open(gwA, 303);
    const items = [
      { event: 'notifications.dialogs.count' as const, data: 7 },
      { event: 'notifications.dialogs.messages.count' as const, data: { count: 2, dialog_id: 9 } },
      { event: 'notifications.dialogs.count' as const, data: 8 },
    ];
    publishPush(gwA.nc, subjects(backend.prefix), 303, {
      items,
      origin_conn: connected.conn_id,
      skip_origin: [0, 2],
    });
    // a malformed push (a payload no schema allows) is dropped; the socket and later pushes are unaffected
    gwA.nc.publish(
      subjects(backend.prefix).push(303),
      new TextEncoder().encode(
        JSON.stringify({ items: [{ event: 'notifications.dialogs.count', data: '<b>' }] }),
      ),
    );
    publishPush(gwA.nc, subjects(backend.prefix), 303, {
      items: [{ event: 'notifications.dialogs.count', data: 9 }],
    });
    await waitFor(() => other.frames.length === 4 && origin.frames.length === 2);
    const frame = (i: (typeof items)[number] | { event: string; data: unknown }) => ({
      type: 'ws_send',
      ...i,
    });
    expect(other.frames).toEqual([
      ...items.map(frame),
      frame({ event: 'notifications.dialogs.count', data: 9 }),
    ]);
    expect(origin.frames).toEqual([
      frame(items[1]!),
      frame({ event: 'notifications.dialogs.count', data: 9 }),
    ]);
  });
});
